"""Partial-k: train the last k blocks of the backbone (the paper's Partial-1 trains Swin's last
block; the output norms stay frozen)."""
from typing import Set

from .base import TUNING_METHODS, TunableBackbone, TuningMethod


@TUNING_METHODS.register_module()
class Partial(TuningMethod):
    """The last ``num_blocks`` blocks of the backbone (in forward order) train in full.

    Args:
        num_blocks (int): How many blocks, counted from the last one. Default: 1 (Partial-1).
    """

    def __init__(self, num_blocks: int = 1) -> None:
        self.num_blocks = num_blocks

    def trainable_base(self, backbone: TunableBackbone) -> Set[str]:
        names = backbone.block_names()
        if not 1 <= self.num_blocks <= len(names):
            raise ValueError(f'Partial: num_blocks={self.num_blocks} but the backbone has '
                             f'{len(names)} blocks.')
        prefixes = tuple(f'{b}.' for b in names[-self.num_blocks:])
        return {n for n in backbone.base_param_names if n.startswith(prefixes)}
