"""The bottleneck adapter shared by Adapter (Houlsby et al., ICML 2019) and AdaptFormer
(Chen et al., NeurIPS 2022), as the Mona paper's baselines define them (docs/spec.md section 3).

    Adapter:      A(z) = z + up(dropout(gelu(down(z))))          (skip=True,  scale=1)
    AdaptFormer:  P(x) = 0.1 * up(dropout(gelu(down(x))))        (skip=False, scale=0.1)
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn


class BottleneckAdapter(nn.Module):
    """``down -> GELU -> dropout -> up``, scaled, with or without the skip.

    Args:
        in_channels (int): Token channels C.
        bottleneck (int): Hidden width. Default: 64.
        drop (float): Dropout after GELU. Default: 0.1.
        scale (float): Factor on the adapter's output. Default: 1.0.
        skip (bool): Return ``x + adapter(x)`` (True) or only ``adapter(x)``. Default: True.
    """

    def __init__(self,
                 in_channels: int,
                 bottleneck: int = 64,
                 drop: float = 0.1,
                 scale: float = 1.0,
                 skip: bool = True) -> None:
        super().__init__()
        self.down = nn.Linear(in_channels, bottleneck)
        self.act = nn.GELU()
        self.dropout = nn.Dropout(drop)
        self.up = nn.Linear(bottleneck, in_channels)
        self.scale = scale
        self.skip = skip
        # the official code initialises every Linear with trunc_normal(0.02) and zero bias
        for m in (self.down, self.up):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor,
                hw_shape: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """Args: x: (B, N, C). Returns: (B, N, C)."""
        y = self.up(self.dropout(self.act(self.down(x))))
        if self.scale != 1.0:
            y = y * self.scale
        return x + y if self.skip else y
