"""Mona: two Multi-cognitive Visual Adapters per block (docs/spec.md section 1)."""
from typing import Optional, Sequence

from mona_mm.layers import MonaLayer

from .base import TUNING_METHODS, TunableBackbone, TuningMethod


@TUNING_METHODS.register_module()
class Mona(TuningMethod):
    """``mona1`` after the attention residual, ``mona2`` after the MLP residual, in every block.

    Only the Monas train; the pretrained backbone is frozen.

    Args:
        bottleneck (int): Bottleneck width of every Mona. Default: 64 (official).
        drop (float): Dropout after GELU. Default: 0.1 (official).
        init_scale (float): Initial ``gamma``. Default: 1e-6 (official).
        stages (Sequence[int], optional): Stages that get Monas. Default: all.
    """

    def __init__(self,
                 bottleneck: int = 64,
                 drop: float = 0.1,
                 init_scale: float = 1e-6,
                 stages: Optional[Sequence[int]] = None) -> None:
        self.bottleneck = bottleneck
        self.drop = drop
        self.init_scale = init_scale
        self.stages = stages

    def insert(self, backbone: TunableBackbone) -> None:
        for block in backbone.select_blocks(self.stages, owner=self.name):
            for slot, name in (('attn_out', 'mona1'), ('ffn_out', 'mona2')):
                block.add_adapter(slot, name,
                                  MonaLayer(block.embed_dims, self.bottleneck, self.drop,
                                            self.init_scale))
