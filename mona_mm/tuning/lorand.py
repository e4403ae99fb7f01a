"""LoRand (Yin et al., CVPR 2023) as in STAR-MMRotate: two multi-branch low-rank adapters per
block, on the attention and the MLP branch outputs before the residual add (inside drop-path,
like Adapter)."""
from typing import Optional, Sequence

from mona_mm.layers import LoRandLayer

from .base import TUNING_METHODS, TunableBackbone, TuningMethod


@TUNING_METHODS.register_module()
class LoRand(TuningMethod):
    """``lorand1`` on the attention branch, ``lorand2`` on the MLP branch.

    Args:
        reduction (int): Hidden width C // reduction. Default: 2.
        branches (int): Low-rank branches per layer. Default: 4.
        kernel (int): Rank of each branch. Default: 8.
        stages (Sequence[int], optional): Stages that get LoRand. Default: all.
    """

    def __init__(self, reduction: int = 2, branches: int = 4, kernel: int = 8,
                 stages: Optional[Sequence[int]] = None) -> None:
        self.reduction = reduction
        self.branches = branches
        self.kernel = kernel
        self.stages = stages

    def insert(self, backbone: TunableBackbone) -> None:
        for block in backbone.select_blocks(self.stages, owner=self.name):
            for slot, name in (('attn_branch', 'lorand1'), ('ffn_branch', 'lorand2')):
                block.add_adapter(
                    slot, name,
                    LoRandLayer(block.embed_dims, self.reduction, self.branches, self.kernel))
