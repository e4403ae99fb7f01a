"""AdaptFormer (parallel adapter, Chen et al., NeurIPS 2022), as the Mona paper's baseline."""
from typing import Optional, Sequence

from mona_mm.layers import BottleneckAdapter

from .base import TUNING_METHODS, TunableBackbone, TuningMethod


@TUNING_METHODS.register_module()
class AdaptFormer(TuningMethod):
    """One adapter per block, next to the MLP, without an inner skip::

        x = x + drop_path(mlp(norm2(x))) + scale * up(dropout(gelu(down(x))))

    Args:
        bottleneck (int): Hidden width. Default: 64.
        drop (float): Dropout after GELU. Default: 0.1.
        scale (float): Fixed output scale. Default: 0.1 (official).
        stages (Sequence[int], optional): Stages that get adapters. Default: all.
    """

    def __init__(self, bottleneck: int = 64, drop: float = 0.1, scale: float = 0.1,
                 stages: Optional[Sequence[int]] = None) -> None:
        self.bottleneck = bottleneck
        self.drop = drop
        self.scale = scale
        self.stages = stages

    def insert(self, backbone: TunableBackbone) -> None:
        for block in backbone.select_blocks(self.stages, owner=self.name):
            block.add_adapter(
                'ffn_parallel', 'adaptformer',
                BottleneckAdapter(block.embed_dims, self.bottleneck, self.drop, self.scale,
                                  skip=False))
