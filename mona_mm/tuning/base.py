"""A delta-tuning method is data, not a backbone subclass, and it knows no backbone family.

A method says two things about a backbone that implements :class:`TunableBackbone` (``SwinMona``,
``ViTMona``):

* which modules it *inserts* (``insert``): adapter layers (:mod:`mona_mm.layers`) placed in named
  slots of the blocks (:class:`TunableBlock`), or a wrapper around a block's fused ``qkv``;
* which *pretrained* parameters stay trainable (``trainable_base``: a set of the backbone's
  parameter names; BitFit: the names containing ``bias``; Full: all of them).

Every parameter a method inserts is trainable; which parameters those are is found structurally
(the backbone compares its parameter names before and after insertion), never by name substring.
Methods are registered in ``TUNING_METHODS`` and chosen in a config by
``tuning=dict(type='Mona', bottleneck=64)`` or a list of such dicts to combine methods.
Adding a method: docs/design.md ("Adding a tuning method") has the checklist.
"""
import inspect
from typing import Any, Dict, List, Optional, Protocol, Sequence, Set, Union

import torch.nn as nn
from mmengine.registry import Registry


class TunableBlock(Protocol):
    """What a tuning method may use of one transformer block.

    The block's forward has five named slots (docs/design.md, "Placements")::

        a = attn_branch(ls1(attn(norm1(x))))       x = attn_out(x + drop_path(a))
        f = ffn_branch(ls2(ffn(norm2(x))))         x = ffn_out(x + drop_path(f) + ffn_parallel(x))

    A module in a slot is called as ``module(x, hw_shape) -> Tensor`` with ``x`` of shape
    (B, N, C) and ``hw_shape`` the (H, W) of the patch-token map (``N - H * W`` leading tokens are
    off the map: a ViT's class and register tokens).
    """

    #: channels C of the block's tokens
    embed_dims: int
    #: the block's fused query-key-value projection, C -> 3C
    qkv: nn.Module

    def set_qkv(self, module: nn.Module) -> None:
        """Replace the fused query-key-value projection."""

    def add_adapter(self, slot: str, name: str, module: nn.Module) -> None:
        """Insert ``module`` as child ``name`` in ``slot``."""


class TunableBackbone(Protocol):
    """What a tuning method may use of a backbone (implemented by ``DeltaTunedBackbone``)."""

    #: names of the backbone's own (pretrained) parameters, before any insertion
    base_param_names: Set[str]

    def select_blocks(self, stages: Optional[Sequence[int]] = None,
                      owner: str = 'tuning method') -> List[TunableBlock]:
        """Blocks of the given stages (all when None), in forward order; a plain ViT has one
        stage."""

    def block_names(self) -> List[str]:
        """Qualified names of all blocks in forward order."""

    def out_norm_names(self) -> Set[str]:
        """Names of the parameters of the output norms (not in ImageNet checkpoints)."""


TUNING_METHODS = Registry('tuning method', scope='mona_mm', locations=['mona_mm.tuning'])


class TuningMethod:
    """Base class of delta-tuning methods.

    Subclasses set :attr:`combinable` to False when combining them with another method is
    meaningless (Full trains everything; Fixed trains nothing by definition), and override
    :meth:`insert` and/or :meth:`trainable_base`. A method that overrides one of them and
    selects nothing with it is an error (the backbone checks).
    """

    #: whether this method may be listed together with other methods
    combinable: bool = True

    def insert(self, backbone: TunableBackbone) -> None:
        """Add this method's modules to ``backbone`` (default: none)."""

    def trainable_base(self, backbone: TunableBackbone) -> Set[str]:
        """Names of pretrained backbone parameters that stay trainable (default: none).

        ``backbone.base_param_names`` holds every candidate name.
        """
        return set()

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items() if not k.startswith('_'))
        return f'{self.name}({args})'


TuningCfg = Union[None, str, Dict[str, Any], Sequence[Union[str, Dict[str, Any]]]]


def build_tuning_methods(cfg: TuningCfg) -> List[TuningMethod]:
    """Build the method list of a backbone's ``tuning`` field.

    Args:
        cfg: ``None`` or ``'Fixed'``-style name, one ``dict(type=..., **hyper_parameters)``, or a
            list of them to combine methods.

    Raises:
        KeyError: an unknown method name (the message lists the registered ones).
        TypeError: an unknown hyper-parameter (the message lists the valid ones).
        ValueError: a combination that makes no sense (a method twice, or Full/Fixed with others).
    """
    if cfg is None:
        return []
    items = [cfg] if isinstance(cfg, (str, dict)) else list(cfg)
    methods = [_build_one(dict(type=c) if isinstance(c, str) else dict(c)) for c in items]
    names = [m.name for m in methods]
    for m in methods:
        if len(methods) > 1 and not m.combinable:
            raise ValueError(f'Tuning method {m.name} cannot be combined with other methods '
                             f'(got {names}); use it alone.')
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(f'Tuning method(s) {dups} listed more than once in {names}.')
    return methods


def _build_one(cfg: Dict[str, Any]) -> TuningMethod:
    if 'type' not in cfg:
        raise KeyError(f'A tuning method config needs a "type" key, got {cfg}. '
                       f'Valid types: {available_methods()}')
    kind = cfg.pop('type')
    cls = TUNING_METHODS.get(kind) if isinstance(kind, str) else kind
    if cls is None:
        raise KeyError(f'Unknown tuning method {kind!r}. Valid types: {available_methods()}')
    params = inspect.signature(cls.__init__).parameters
    valid = [p for p in params if p != 'self']
    unknown = sorted(set(cfg) - set(valid))
    if unknown:
        raise TypeError(f'Unknown hyper-parameter(s) {unknown} for tuning method {kind!r}. '
                        f'Valid: {valid}')
    return cls(**cfg)


def available_methods() -> List[str]:
    """Names of the registered tuning methods."""
    TUNING_METHODS.import_from_location()
    return sorted(TUNING_METHODS.module_dict)
