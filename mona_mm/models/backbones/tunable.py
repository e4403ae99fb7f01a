"""What every backbone family that hosts tuning methods shares: blocks with adapter slots, and a
backbone that applies its tuning methods, freezes what must not train and loads pretrained weights
with a report.

A family (``swin_mona.py``, ``vit_mona.py``) builds its layers with the weight-holding modules of
the host libraries (so keys and numerics are theirs), subclasses :class:`SlotBlock` for its block
(saying how its attention and MLP branches are computed and where its fused ``qkv`` is) and
:class:`DeltaTunedBackbone` for the backbone (saying how its blocks group into stages, which
parameters are its output norms, how its published checkpoints map to its keys), then calls
:meth:`DeltaTunedBackbone.apply_tuning` at the end of ``__init__``. The tuning methods
(:mod:`mona_mm.tuning`) see only the protocol this gives (``mona_mm.tuning.base``).
"""
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, trunc_normal_init

from mona_mm.layers import merge_adapters
from mona_mm.tuning import TuningMethod, build_tuning_methods

from .pretrained import LoadReport, load_into, read_checkpoint


def pretrained_init_cfg(pretrained: Optional[str], init_cfg: Optional[dict]) -> Optional[dict]:
    """The ``init_cfg`` of the host's deprecated ``pretrained`` argument (mmseg's rule).

    Raises:
        ValueError: both ``pretrained`` and ``init_cfg`` are given.
        TypeError: ``pretrained`` is neither a path nor None, or ``init_cfg`` neither a dict, a
            list of them nor None.
    """
    if init_cfg is not None and not isinstance(init_cfg, (dict, list)):
        raise TypeError(f'init_cfg must be a dict (e.g. dict(type=\'Pretrained\', '
                        f'checkpoint=PATH)), a list of them or None, got '
                        f'{type(init_cfg).__name__} {init_cfg!r}.')
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise TypeError(f'pretrained must be a checkpoint path (str) or None, got '
                        f'{type(pretrained).__name__} {pretrained!r}.')
    if init_cfg:
        raise ValueError(f'pretrained={pretrained!r} and init_cfg={init_cfg!r} cannot both be '
                         "given: keep init_cfg=dict(type='Pretrained', checkpoint=PATH) only.")
    warnings.warn('DeprecationWarning: pretrained is deprecated, please use "init_cfg" instead '
                  f"(init_cfg=dict(type='Pretrained', checkpoint={pretrained!r})).")
    return dict(type='Pretrained', checkpoint=pretrained)


class SlotBlock(BaseModule):
    """A transformer block whose forward has five named adapter slots::

        a = attn_branch(residual_attn(x))            # ls1(attn(norm1(x))) in the family
        x = attn_out(x + drop_path(a))               # Mona's mona1
        f = ffn_branch(residual_ffn(x))              # ls2(ffn(norm2(x)))
        x = x + drop_path(f) + ffn_parallel(x)       # AdaptFormer
        x = ffn_out(x)                               # Mona's mona2

    Drop-path is applied here, not inside the attention or MLP modules, so branch adapters
    (Adapter, LoRand) sit before it and Mona's after it (docs/spec.md section 1). It is two ops,
    a per-sample Bernoulli mask and one ``addcmul`` into the residual (:meth:`add_branch`),
    where mmcv's ``DropPath`` and its add are six.
    Subclasses define :meth:`residual_attn`, :meth:`residual_ffn` and :attr:`QKV`.

    Args:
        embed_dims (int): Channels C of the tokens.
        drop_path_rate (float): Stochastic depth of both residual branches.
        with_cp (bool): Gradient checkpointing of the whole block in training.
    """

    SLOTS = ('attn_branch', 'attn_out', 'ffn_branch', 'ffn_parallel', 'ffn_out')
    #: qualified name of the block's fused query-key-value ``nn.Linear`` (C -> 3C)
    QKV = 'attn.qkv'

    def __init__(self, embed_dims: int, drop_path_rate: float = 0., with_cp: bool = False) -> None:
        super().__init__()
        self.embed_dims = embed_dims
        self.with_cp = with_cp
        self.drop_path_rate = drop_path_rate
        self.slots: Dict[str, List[str]] = {slot: [] for slot in self.SLOTS}

    def residual_attn(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        """The pretrained attention branch (B, N, C) -> (B, N, C)."""
        raise NotImplementedError

    def residual_ffn(self, x: torch.Tensor) -> torch.Tensor:
        """The pretrained MLP branch (B, N, C) -> (B, N, C)."""
        raise NotImplementedError

    @property
    def qkv(self) -> nn.Module:
        """The fused query-key-value projection."""
        return self.get_submodule(self.QKV)

    def set_qkv(self, module: nn.Module) -> None:
        """Replace the fused query-key-value projection (LoRA wraps it)."""
        parent, _, name = self.QKV.rpartition('.')
        setattr(self.get_submodule(parent) if parent else self, name, module)

    def add_adapter(self, slot: str, name: str, module: nn.Module) -> None:
        """Insert ``module`` as child ``name`` in ``slot``.

        A module in any slot is called as ``module(x, hw_shape) -> Tensor``; the one in
        ``ffn_parallel`` returns the term added next to the MLP branch, the others return the
        transformed tensor.
        """
        if slot not in self.SLOTS:
            raise KeyError(f'Unknown adapter slot {slot!r}; valid slots: {self.SLOTS}')
        if hasattr(self, name):
            raise ValueError(f'Cannot insert adapter {name!r}: the block already has a child or '
                             f'attribute of that name (two methods placing the same adapter?).')
        self.add_module(name, module)
        self.slots[slot].append(name)

    def _slot(self, slot: str, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        for name in self.slots[slot]:
            x = getattr(self, name)(x, hw_shape)
        return x

    def add_branch(self, x: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
        """``x + drop_path(branch)``: in training, each sample's branch is dropped with
        probability ``drop_path_rate`` and the kept ones scaled by ``1 / (1 - rate)``."""
        rate = self.drop_path_rate
        if not (self.training and rate > 0):
            return x + branch
        keep = 1.0 - rate
        mask = branch.new_empty((branch.shape[0], ) + (1, ) * (branch.dim() - 1))
        return torch.addcmul(x, branch, mask.bernoulli_(keep), value=1.0 / keep)

    def _forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        a = self._slot('attn_branch', self.residual_attn(x, hw_shape), hw_shape)
        x = self._slot('attn_out', self.add_branch(x, a), hw_shape)
        f = self._slot('ffn_branch', self.residual_ffn(x), hw_shape)
        out = self.add_branch(x, f)
        for name in self.slots['ffn_parallel']:
            out = out + getattr(self, name)(x, hw_shape)
        return self._slot('ffn_out', out, hw_shape)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        """Args: x: (B, N, C); hw_shape: (H, W) of the patch-token map. Returns: (B, N, C)."""
        if self.with_cp and self.training and torch.is_grad_enabled():
            # non-reentrant: also right when x does not require grad (a frozen stem before it)
            return cp.checkpoint(self._forward, x, hw_shape, use_reentrant=False)
        return self._forward(x, hw_shape)


class DeltaTunedBackbone(BaseModule):
    """Base of the backbones that host tuning methods.

    Holds the freezing rule (docs/spec.md section 2): every parameter that is not an inserted
    adapter's, not chosen by a method's ``trainable_base`` and not an output norm asked for by
    ``train_out_norms`` is frozen, at construction, after ``init_weights`` and in ``train()``.

    Attributes set by :meth:`apply_tuning`: ``tuning_methods``, ``base_param_names`` (the family's
    own parameters), ``adapter_param_names`` (inserted), ``trainable_param_names`` (intended).
    """

    #: the family's name in messages and load reports
    family = 'backbone'
    #: ``frozen_stages`` of the family (-1: none); see :meth:`frozen_stage_parts`
    frozen_stages = -1
    #: names of the output-norm children, set by :meth:`add_out_norms`
    out_norm_children: Tuple[str, ...] = ()

    # ----------------------------------------------------------------- what a family defines
    def tuning_stages(self) -> List[Sequence[SlotBlock]]:
        """The blocks, grouped in stages, in forward order (a plain ViT has one stage)."""
        raise NotImplementedError

    def frozen_stage_parts(self) -> List[Tuple[Tuple[str, ...], List[nn.Module]]]:
        """What ``frozen_stages = k`` freezes: parts ``0..k`` of this list, in forward order.

        Each part is ``(names, modules)``: the parameters named ``n`` or ``n.*`` for ``n`` in
        ``names`` are frozen whatever the tuning method, and ``modules`` stay in eval mode.
        Default: no part (``frozen_stages`` has no effect).
        """
        return []

    # ----------------------------------------------------------------- shared by the families
    def add_out_norms(self, norm_cfg: dict, channels: Dict[int, int]) -> None:
        """Add the output norms: child ``norm{i}`` with ``channels[i]`` channels for output ``i``
        (mmdet/mmseg's naming). They are not in ImageNet checkpoints; delta methods keep them
        frozen at their initialisation unless ``train_out_norms`` (docs/spec.md section 2)."""
        for i, width in channels.items():
            self.add_module(f'norm{i}', build_norm_layer(norm_cfg, width)[1])
        self.out_norm_children = tuple(f'norm{i}' for i in channels)

    def out_norm_names(self) -> Set[str]:
        """Names of the output norms' parameters (not in ImageNet checkpoints)."""
        return {f'{child}.{n}' for child in self.out_norm_children
                for n, _ in getattr(self, child).named_parameters()}

    def _frozen_parts(self) -> List[Tuple[Tuple[str, ...], List[nn.Module]]]:
        return self.frozen_stage_parts()[:self.frozen_stages + 1]

    def is_frozen_part(self, name: str) -> bool:
        """Whether parameter ``name`` is frozen by ``frozen_stages``."""
        return any(name == n or name.startswith(f'{n}.') for names, _ in self._frozen_parts()
                   for n in names)

    def frozen_modules(self) -> List[nn.Module]:
        """Modules that ``frozen_stages`` keeps in eval mode."""
        return [m for _, modules in self._frozen_parts() for m in modules]

    def convert_pretrained(
            self, state_dict: Dict[str, torch.Tensor]
    ) -> Tuple[Dict[str, torch.Tensor], LoadReport]:
        """Map a published checkpoint's state dict to this backbone's keys.

        Returns:
            tuple: ``(state_dict, report)``, the report with ``source_format``, ``family`` and
            the ``ignored`` keys set.
        """
        raise NotImplementedError

    def adapt_pretrained(self, key: str, value: torch.Tensor,
                         target: torch.Size) -> Optional[torch.Tensor]:
        """A pretrained tensor of another shape, adapted to this model (resized), or None to
        ignore it; anything else is a shape mismatch. Default: no adaptation."""
        return value

    def pretrained_may_lack(self, key: str) -> bool:
        """Keys besides adapters and output norms that a pretrained file may lack."""
        return False

    # ----------------------------------------------------------------- tuning
    def prepare_adapters(self) -> None:
        """Let the adapter layers that build tensors from their parameters on every step
        (Mona's merged kernels) build them for all their layers of this backbone at once, one
        batched pass per forward instead of one per layer: the ``prepare_group`` static method
        of the layer's class, given all its instances here. Called first in ``forward``; under
        ``torch.compile`` each layer builds its own (the compiler fuses them anyway), and so do
        the layers of blocks checkpointed in this forward (``with_cp``): their recomputation in
        backward must save what their forward saved."""
        if torch.compiler.is_compiling():
            return
        checkpointed = set()
        if self.training and torch.is_grad_enabled():
            for block in self.modules():
                if isinstance(block, SlotBlock) and block.with_cp:
                    checkpointed.update(map(id, block.modules()))
        groups: Dict[type, List[nn.Module]] = {}
        for module in self.modules():
            if hasattr(type(module), 'prepare_group') and id(module) not in checkpointed:
                groups.setdefault(type(module), []).append(module)
        for cls, modules in groups.items():
            cls.prepare_group(modules)

    def apply_tuning(self, tuning, train_out_norms: bool = False, deploy: bool = False) -> None:
        """Insert the methods' modules, merge them for deployment if asked, and freeze.

        Raises:
            ValueError: a method that inserts nothing or selects nothing in this backbone, or
                names parameters it does not have.
        """
        self.train_out_norms = train_out_norms
        self.deploy = deploy
        self.base_param_names: Set[str] = {n for n, _ in self.named_parameters()}
        self.tuning_methods: List[TuningMethod] = build_tuning_methods(tuning)
        base_trainable: Set[str] = set()
        for method in self.tuning_methods:
            before = {n for n, _ in self.named_parameters()}
            method.insert(self)
            added = {n for n, _ in self.named_parameters()} - before
            if type(method).insert is not TuningMethod.insert and not added:
                raise ValueError(f'Tuning method {method!r} inserted no parameters: its block or '
                                 f'stage selection matches nothing in this {self.family}.')
            chosen = method.trainable_base(self)
            if type(method).trainable_base is not TuningMethod.trainable_base and not chosen:
                raise ValueError(f'Tuning method {method!r} selects no backbone parameter.')
            unknown = chosen - self.base_param_names
            if unknown:
                raise ValueError(f'Tuning method {method!r} names parameters that the backbone '
                                 f'does not have: {sorted(unknown)[:5]}')
            base_trainable |= chosen
        if deploy:
            merge_adapters(self)
        self.adapter_param_names: Set[str] = {
            n for n, _ in self.named_parameters()} - self.base_param_names
        names = self.adapter_param_names | base_trainable
        if train_out_norms:
            names |= self.out_norm_names()
        self.trainable_param_names: Set[str] = {n for n in names if not self.is_frozen_part(n)}
        self._freeze()

    def select_blocks(self, stages: Optional[Sequence[int]] = None,
                      owner: str = 'tuning method') -> List[SlotBlock]:
        """Blocks of the given stages (all stages when None), in order."""
        all_stages = self.tuning_stages()
        num = len(all_stages)
        chosen = range(num) if stages is None else list(stages)
        bad = [s for s in chosen if not -num <= s < num]
        if bad:
            raise ValueError(f'{owner}: stages {bad} do not exist; this {self.family} has '
                             f'stages 0..{num - 1}.')
        return [b for s in chosen for b in all_stages[s]]

    def block_names(self) -> List[str]:
        """Qualified names of all blocks in forward order."""
        return [n for n, m in self.named_modules() if isinstance(m, SlotBlock)]

    def _freeze(self) -> None:
        for name, param in self.named_parameters():
            param.requires_grad = name in self.trainable_param_names
        for module in self.frozen_modules():
            module.eval()

    def train(self, mode: bool = True) -> 'DeltaTunedBackbone':
        super().train(mode)
        self._freeze()
        return self

    # ----------------------------------------------------------------- weights
    def pretrained_checkpoint(self) -> Optional[str]:
        """The checkpoint of ``init_cfg`` (a ``Pretrained`` dict, or a list holding one)."""
        cfgs = self.init_cfg if isinstance(self.init_cfg, (list, tuple)) else (
            [self.init_cfg] if self.init_cfg else [])
        pretrained = [c for c in cfgs if c.get('type') == 'Pretrained']
        if len(pretrained) != len(cfgs) or len(pretrained) > 1:
            raise ValueError(f'{type(self).__name__} supports only init_cfg=dict(type='
                             f'"Pretrained", checkpoint=PATH) (or None), got {self.init_cfg}; '
                             f'its own initialisation needs no init_cfg.')
        return pretrained[0]['checkpoint'] if pretrained else None

    def load_pretrained(self, checkpoint, strict: Optional[bool] = None,
                        logger: Optional[MMLogger] = None) -> LoadReport:
        """Load a published checkpoint (path or dict) of this family and log the report.

        Raises:
            ValueError: another architecture (shape mismatches), or, with ``strict`` (default:
                the backbone's ``strict_pretrained``), pretrained weights the file lacks.
        """
        logger = logger or MMLogger.get_current_instance()
        state_dict, report = self.convert_pretrained(read_checkpoint(checkpoint, logger))
        return load_into(self, state_dict, report, adapt=self.adapt_pretrained,
                         may_lack=self.pretrained_may_lack,
                         strict=self.strict_pretrained if strict is None else strict,
                         logger=logger)

    def init_base_weights(self) -> None:
        """The family's scratch initialisation of its own (pretrained) layers."""

    def init_weights(self) -> None:
        """Initialise the family's own weights (scratch init, then the pretrained checkpoint),
        keep the adapters' own initialisation, and re-assert the freezing."""
        logger = MMLogger.get_current_instance()
        self.init_base_weights()
        checkpoint = self.pretrained_checkpoint()
        if checkpoint is not None:
            self.load_pretrained(checkpoint, logger=logger)
        else:
            logger.warning(f'{type(self).__name__}: no pretrained weights (init_cfg is None); '
                           f'the backbone starts from random initialisation.')
        self._freeze()


def init_base_modules(backbone: DeltaTunedBackbone,
                      init: Callable[[nn.Module], None]) -> None:
    """Apply ``init`` to every module that holds one of the backbone's own weights (adapters
    keep the initialisation their method defines)."""
    for name, module in backbone.named_modules():
        if f'{name}.weight' in backbone.base_param_names:
            init(module)


def init_linear_and_norm(module: nn.Module) -> None:
    """The transformers' scratch initialisation (mmdet/mmseg, timm): Linear weights
    trunc-normal(0.02) with zero bias, LayerNorm weight 1 and bias 0; other modules unchanged.
    For :func:`init_base_modules`."""
    if isinstance(module, nn.Linear):
        trunc_normal_init(module, std=.02, bias=0.)
    elif isinstance(module, nn.LayerNorm):
        constant_init(module, 1.0)
