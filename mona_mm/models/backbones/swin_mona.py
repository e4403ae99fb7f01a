"""SwinMona: one Swin Transformer backbone that hosts every delta-tuning method.

Swin Transformer (Liu et al., ICCV 2021, arXiv 2103.14030); Mona (Yin et al., CVPR 2025,
arXiv 2408.08345, github.com/Leiyi-Hu/mona). The layers holding weights are mmdet's own
(``WindowMSA``/``ShiftWindowMSA``, mmcv's ``FFN``, ``PatchEmbed``, ``PatchMerging``), so the
state-dict keys, the Microsoft-checkpoint conversion and the numerics are those of mmdet/mmseg
``SwinTransformer``: with no adapters (``tuning='Fixed'`` or ``'Full'``) the output is the stock one.

Why not subclass mmdet's ``SwinBlock``: it hides drop-path inside the attention and FFN modules
and adds the residual inside ``FFN``, so methods that act on a residual *branch* before drop-path
(Adapter, LoRand) or next to it (AdaptFormer) cannot be placed without rewriting its forward. This
file owns the block's forward instead (a dozen lines, below) and exposes named slots in it::

    a = attn(norm1(x));       a = attn_branch(a)
    x = x + drop_path(a);     x = attn_out(x)             # Mona's mona1
    f = ffn(norm2(x));        f = ffn_branch(f)
    x = x + drop_path(f) + ffn_parallel(x)                # AdaptFormer
    x = ffn_out(x)                                        # Mona's mona2

A tuning method (``mona_mm.tuning``) fills slots and says which pretrained parameters train; the
backbone freezes everything else at construction, after ``init_weights`` and in ``train()``.

Deliberate differences from mmdet's ``SwinTransformer`` (documented in docs/design.md):
``frozen_stages`` follows the original Swin/Mona code (0: patch embedding; 1: + absolute position
embedding; k >= 2: + stages 0..k-2), because the paper's parameter counts are produced that way;
pretrained loading reports missing/unexpected keys and refuses shape mismatches.
"""
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.drop import DropPath
from mmcv.cnn.bricks.transformer import FFN
from mmdet.models.backbones.swin import ShiftWindowMSA
from mmdet.models.layers import PatchEmbed, PatchMerging
from mmengine.logging import MMLogger
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import constant_init, trunc_normal_, trunc_normal_init
from mmengine.registry import MODELS
from mmengine.utils import to_2tuple

from mona_mm.tuning import TuningMethod, build_tuning_methods
from ..merge import merge_adapters
from .swin_checkpoint import load_swin_pretrained


class SwinMonaBlock(BaseModule):
    """A Swin block with named adapter slots (see the module docstring).

    Weights and keys are those of mmdet's ``SwinBlock`` (``norm1``, ``attn.w_msa.*``, ``norm2``,
    ``ffn.layers.*``); adapters are extra children named by their method (``mona1`` ...).
    """

    SLOTS = ('attn_branch', 'attn_out', 'ffn_branch', 'ffn_parallel', 'ffn_out')

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 window_size: int = 7,
                 shift: bool = False,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN'),
                 with_cp: bool = False) -> None:
        super().__init__()
        self.embed_dims = embed_dims
        self.with_cp = with_cp
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        # drop-path is applied here, not inside attn/ffn, so branch adapters sit before it
        self.attn = ShiftWindowMSA(
            embed_dims=embed_dims,
            num_heads=num_heads,
            window_size=window_size,
            shift_size=window_size // 2 if shift else 0,
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate,
            proj_drop_rate=drop_rate,
            dropout_layer=dict(type='DropPath', drop_prob=0.))
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(
            embed_dims=embed_dims,
            feedforward_channels=feedforward_channels,
            num_fcs=2,
            ffn_drop=drop_rate,
            dropout_layer=None,
            act_cfg=act_cfg,
            add_identity=False)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.slots: Dict[str, List[str]] = {slot: [] for slot in self.SLOTS}

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

    def _forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        a = self._slot('attn_branch', self.attn(self.norm1(x), hw_shape), hw_shape)
        x = self._slot('attn_out', x + self.drop_path(a), hw_shape)
        f = self._slot('ffn_branch', self.ffn(self.norm2(x)), hw_shape)
        out = x + self.drop_path(f)
        for name in self.slots['ffn_parallel']:
            out = out + getattr(self, name)(x, hw_shape)
        return self._slot('ffn_out', out, hw_shape)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        """Args: x: (B, H*W, C); hw_shape: (H, W). Returns: (B, H*W, C)."""
        if self.with_cp and self.training and torch.is_grad_enabled():
            return cp.checkpoint(self._forward, x, hw_shape, use_reentrant=False)
        return self._forward(x, hw_shape)


class SwinMonaStage(BaseModule):
    """One stage: ``blocks`` then an optional ``downsample`` (mmdet's key layout)."""

    def __init__(self, depth: int, downsample: Optional[nn.Module], drop_path_rates: List[float],
                 **block_kwargs) -> None:
        super().__init__()
        self.blocks = ModuleList([
            SwinMonaBlock(shift=i % 2 == 1, drop_path_rate=drop_path_rates[i], **block_kwargs)
            for i in range(depth)
        ])
        self.downsample = downsample

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]):
        for block in self.blocks:
            x = block(x, hw_shape)
        if self.downsample is None:
            return x, hw_shape, x, hw_shape
        x_down, down_hw_shape = self.downsample(x, hw_shape)
        return x_down, down_hw_shape, x, hw_shape


@MODELS.register_module()
class SwinMona(BaseModule):
    """Swin Transformer backbone with a declarative delta-tuning method.

    Arguments are those of mmdet's ``SwinTransformer`` (so its configs carry over), plus:

    Args:
        arch (str, optional): ``'tiny'``, ``'small'``, ``'base'`` or ``'large'``; fills
            ``embed_dims``, ``depths`` and ``num_heads`` (explicit values win). Default: None.
        tuning (str | dict | list): The tuning method(s), e.g. ``dict(type='Mona', bottleneck=64)``
            or ``[dict(type='Mona'), dict(type='BitFit')]``. Default: ``dict(type='Mona')``.
        train_out_norms (bool): Also train the output norms ``norm{i}`` (not in ImageNet
            checkpoints; the official code keeps them frozen at identity). Methods that train
            them by their own rule (Full, NormTuning) do so regardless. Default: False.
        frozen_stages (int): Original Swin semantics (see module docstring). Default: -1.
        convert_weights (bool, optional): Force (True) or forbid (False) the Microsoft-checkpoint
            key conversion; None detects the format. Default: None.
        strict_pretrained (bool): Missing pretrained keys other than adapters' own and the output
            norms are an error. Default: True.
        deploy (bool): Build the merged (deployment) structure, into which a checkpoint written
            by ``tools/model_converters/merge_adapters.py`` loads. Default: False.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads pretrained
            weights (any Microsoft, mmdet/mmseg or ``backbone.``-prefixed Swin checkpoint).
    """

    arch_zoo = {
        'tiny': dict(embed_dims=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24)),
        'small': dict(embed_dims=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24)),
        'base': dict(embed_dims=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32)),
        'large': dict(embed_dims=192, depths=(2, 2, 18, 2), num_heads=(6, 12, 24, 48)),
    }

    def __init__(self,
                 arch: Optional[str] = None,
                 pretrain_img_size: Union[int, Tuple[int, int]] = 224,
                 in_channels: int = 3,
                 embed_dims: Optional[int] = None,
                 patch_size: int = 4,
                 window_size: int = 7,
                 mlp_ratio: int = 4,
                 depths: Optional[Sequence[int]] = None,
                 num_heads: Optional[Sequence[int]] = None,
                 strides: Sequence[int] = (4, 2, 2, 2),
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 patch_norm: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 use_abs_pos_embed: bool = False,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN'),
                 with_cp: bool = False,
                 tuning=dict(type='Mona'),
                 train_out_norms: bool = False,
                 frozen_stages: int = -1,
                 convert_weights: Optional[bool] = None,
                 strict_pretrained: bool = True,
                 deploy: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch is not None and arch not in self.arch_zoo:
            raise KeyError(f'Unknown Swin arch {arch!r}; valid: {sorted(self.arch_zoo)}')
        zoo = self.arch_zoo[arch or 'tiny']
        embed_dims = embed_dims or zoo['embed_dims']
        depths = tuple(depths or zoo['depths'])
        num_heads = tuple(num_heads or zoo['num_heads'])
        if strides[0] != patch_size:
            raise ValueError('Use non-overlapping patch embed: strides[0] must equal patch_size.')
        self.out_indices = tuple(out_indices)
        self.use_abs_pos_embed = use_abs_pos_embed
        self.frozen_stages = frozen_stages
        self.train_out_norms = train_out_norms
        self.convert_weights = convert_weights
        self.strict_pretrained = strict_pretrained

        self.patch_embed = PatchEmbed(
            in_channels=in_channels,
            embed_dims=embed_dims,
            conv_type='Conv2d',
            kernel_size=patch_size,
            stride=strides[0],
            norm_cfg=norm_cfg if patch_norm else None)
        if use_abs_pos_embed:
            img = to_2tuple(pretrain_img_size)
            num_patches = (img[0] // patch_size) * (img[1] // patch_size)
            self.absolute_pos_embed = nn.Parameter(torch.zeros((1, num_patches, embed_dims)))
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depths))]
        self.stages = ModuleList()
        channels = embed_dims
        for i, depth in enumerate(depths):
            downsample = PatchMerging(
                in_channels=channels,
                out_channels=2 * channels,
                stride=strides[i + 1],
                norm_cfg=norm_cfg if patch_norm else None) if i < len(depths) - 1 else None
            self.stages.append(
                SwinMonaStage(
                    depth=depth,
                    downsample=downsample,
                    drop_path_rates=dpr[sum(depths[:i]):sum(depths[:i + 1])],
                    embed_dims=channels,
                    num_heads=num_heads[i],
                    feedforward_channels=mlp_ratio * channels,
                    window_size=window_size,
                    qkv_bias=qkv_bias,
                    qk_scale=qk_scale,
                    drop_rate=drop_rate,
                    attn_drop_rate=attn_drop_rate,
                    act_cfg=act_cfg,
                    norm_cfg=norm_cfg,
                    with_cp=with_cp))
            if downsample is not None:
                channels = downsample.out_channels
        self.num_features = [int(embed_dims * 2**i) for i in range(len(depths))]
        for i in self.out_indices:
            self.add_module(f'norm{i}', build_norm_layer(norm_cfg, self.num_features[i])[1])

        # the tuning method(s): insert adapters, then freeze all that is not intended to train
        self.base_param_names: Set[str] = {n for n, _ in self.named_parameters()}
        self.tuning_methods: List[TuningMethod] = build_tuning_methods(tuning)
        base_trainable: Set[str] = set()
        for method in self.tuning_methods:
            before = {n for n, _ in self.named_parameters()}
            method.insert(self)
            added = {n for n, _ in self.named_parameters()} - before
            if type(method).insert is not TuningMethod.insert and not added:
                raise ValueError(f'Tuning method {method!r} inserted no parameters: its block or '
                                 f'stage selection matches nothing in this backbone '
                                 f'(depths {depths}).')
            chosen = method.trainable_base(self)
            if type(method).trainable_base is not TuningMethod.trainable_base and not chosen:
                raise ValueError(f'Tuning method {method!r} selects no backbone parameter.')
            unknown = chosen - self.base_param_names
            if unknown:
                raise ValueError(f'Tuning method {method!r} names parameters that the backbone '
                                 f'does not have: {sorted(unknown)[:5]}')
            base_trainable |= chosen
        self.deploy = deploy
        if deploy:
            merge_adapters(self)
        self.adapter_param_names: Set[str] = {
            n for n, _ in self.named_parameters()} - self.base_param_names
        self.trainable_param_names: Set[str] = self._intended_trainable(base_trainable)
        self._freeze()

    # ----------------------------------------------------------------- tuning support
    def select_blocks(self, stages: Optional[Sequence[int]] = None,
                      owner: str = 'tuning method') -> List[SwinMonaBlock]:
        """Blocks of the given stages (all stages when None), in order."""
        num = len(self.stages)
        chosen = range(num) if stages is None else list(stages)
        bad = [s for s in chosen if not -num <= s < num]
        if bad:
            raise ValueError(f'{owner}: stages {bad} do not exist; this backbone has stages '
                             f'0..{num - 1}.')
        return [b for s in chosen for b in self.stages[s].blocks]

    def block_names(self) -> List[str]:
        """Qualified names of all blocks in forward order (``stages.{i}.blocks.{j}``)."""
        return [f'stages.{i}.blocks.{j}' for i, stage in enumerate(self.stages)
                for j in range(len(stage.blocks))]

    def is_frozen_part(self, name: str) -> bool:
        """Whether parameter ``name`` lies in a part frozen by ``frozen_stages``."""
        fs = self.frozen_stages
        if fs >= 0 and name.startswith('patch_embed.'):
            return True
        if fs >= 1 and name == 'absolute_pos_embed':
            return True
        return any(name.startswith(f'stages.{i}.') for i in range(0, fs - 1))

    def _intended_trainable(self, base_trainable: Set[str]) -> Set[str]:
        names = self.adapter_param_names | base_trainable
        if self.train_out_norms:
            out_norms = tuple(f'norm{i}.' for i in self.out_indices)
            names |= {n for n in self.base_param_names if n.startswith(out_norms)}
        return {n for n in names if not self.is_frozen_part(n)}

    def _freeze(self) -> None:
        for name, param in self.named_parameters():
            param.requires_grad = name in self.trainable_param_names
        if self.frozen_stages >= 0:
            self.patch_embed.eval()
        if self.frozen_stages >= 2:
            self.drop_after_pos.eval()
            for i in range(self.frozen_stages - 1):
                self.stages[i].eval()

    def train(self, mode: bool = True) -> 'SwinMona':
        super().train(mode)
        self._freeze()
        return self

    # ----------------------------------------------------------------- weights
    def init_weights(self) -> None:
        """Initialise base weights (mmdet's scratch init, or the pretrained checkpoint),
        keep the adapters' own initialisation, and re-assert the freezing."""
        logger = MMLogger.get_current_instance()
        if self.use_abs_pos_embed:
            trunc_normal_(self.absolute_pos_embed, std=0.02)
        for name, m in self.named_modules():
            if f'{name}.weight' not in self.base_param_names:
                continue  # adapters keep the initialisation their method defines
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=.02, bias=0.)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, 1.0)
        for m in self.modules():
            if hasattr(m, 'w_msa'):
                m.w_msa.init_weights()
        if self.init_cfg is not None and self.init_cfg.get('type') == 'Pretrained':
            load_swin_pretrained(
                self,
                self.init_cfg['checkpoint'],
                convert_weights=self.convert_weights,
                strict=self.strict_pretrained,
                logger=logger)
        elif self.init_cfg is not None:
            raise ValueError(f'SwinMona supports only init_cfg=dict(type="Pretrained", '
                             f'checkpoint=...), got {self.init_cfg}')
        else:
            logger.warning('SwinMona: no pretrained weights (init_cfg is None); the backbone '
                           'starts from random initialisation.')
        self._freeze()

    # ----------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Args: x: (B, 3, H, W). Returns: one (B, C_i, H_i, W_i) map per ``out_indices``."""
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            x = x + self.absolute_pos_embed
        x = self.drop_after_pos(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape, out, out_hw_shape = stage(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(out)
                outs.append(
                    out.view(-1, *out_hw_shape, self.num_features[i]).permute(0, 3, 1,
                                                                              2).contiguous())
        return outs
