"""Mona: two Multi-cognitive Visual Adapters per Swin block (MONA_SPEC.md section 1)."""
from typing import TYPE_CHECKING, Optional, Sequence

from mona_mm.models.adapters.mona import Mona as MonaLayer
from .base import TUNING_METHODS, TuningMethod

if TYPE_CHECKING:
    from mona_mm.models.backbones.swin_mona import SwinMona


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

    def insert(self, backbone: 'SwinMona') -> None:
        for block in backbone.select_blocks(self.stages, owner=self.name):
            for slot, name in (('attn_out', 'mona1'), ('ffn_out', 'mona2')):
                block.add_adapter(slot, name,
                                  MonaLayer(block.embed_dims, self.bottleneck, self.drop,
                                            self.init_scale))
