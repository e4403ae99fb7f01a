"""Adapter (sequential, Houlsby et al., ICML 2019), as the Mona paper's baseline."""
from typing import Optional, Sequence

from mona_mm.layers import BottleneckAdapter

from .base import TUNING_METHODS, TunableBackbone, TuningMethod


@TUNING_METHODS.register_module()
class Adapter(TuningMethod):
    """Two adapters per block, on the attention and the MLP branch, inside drop-path::

        x = x + drop_path(A1(attn(norm1(x))));  x = x + drop_path(A2(mlp(norm2(x))))

    Args:
        bottleneck (int): Hidden width. Default: 64.
        drop (float): Dropout after GELU. Default: 0.1.
        stages (Sequence[int], optional): Stages that get adapters. Default: all.
    """

    def __init__(self, bottleneck: int = 64, drop: float = 0.1,
                 stages: Optional[Sequence[int]] = None) -> None:
        self.bottleneck = bottleneck
        self.drop = drop
        self.stages = stages

    def insert(self, backbone: TunableBackbone) -> None:
        for block in backbone.select_blocks(self.stages, owner=self.name):
            for slot, name in (('attn_branch', 'adapter1'), ('ffn_branch', 'adapter2')):
                block.add_adapter(slot, name,
                                  BottleneckAdapter(block.embed_dims, self.bottleneck, self.drop))
