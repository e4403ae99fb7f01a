"""LoRA on each block's fused qkv projection, as the Mona paper's baseline (Q and V, not K)."""
from typing import Optional, Sequence

from mona_mm.layers import LoRALinear

from .base import TUNING_METHODS, TunableBackbone, TuningMethod

_QKV = {'q': 0, 'k': 1, 'v': 2}


@TUNING_METHODS.register_module()
class LoRA(TuningMethod):
    """Low-rank updates of the chosen parts of every block's fused ``qkv`` projection.

    The qkv layer keeps its pretrained ``weight``/``bias`` (same keys); ``lora_A``/``lora_B`` are
    added, B zero-initialised, so the model starts exactly as the pretrained one.

    Args:
        rank (int): r. Default: 64 (official).
        alpha (float): The update is scaled by ``alpha / rank``. Default: 1 (official).
        dropout (float): Dropout on the low-rank path's input. Default: 0 (official).
        targets (Sequence[str]): Parts of the fused projection, from ``'q'``, ``'k'``, ``'v'``.
            Default: ``('q', 'v')`` (official).
        stages (Sequence[int], optional): Stages that get LoRA. Default: all.
    """

    def __init__(self, rank: int = 64, alpha: float = 1.0, dropout: float = 0.0,
                 targets: Sequence[str] = ('q', 'v'),
                 stages: Optional[Sequence[int]] = None) -> None:
        bad = [t for t in targets if t not in _QKV]
        if bad or not targets:
            raise ValueError(f'LoRA targets {list(targets)} are not valid; choose from '
                             f'{sorted(_QKV)} (the parts of the fused qkv projection).')
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = tuple(targets)
        self.stages = stages

    def insert(self, backbone: TunableBackbone) -> None:
        for block in backbone.select_blocks(self.stages, owner=self.name):
            if isinstance(block.qkv, LoRALinear):
                raise ValueError('LoRA is already applied to this qkv projection.')
            block.set_qkv(LoRALinear(block.qkv, [_QKV[t] for t in self.targets], 3,
                                     self.rank, self.alpha, self.dropout))
