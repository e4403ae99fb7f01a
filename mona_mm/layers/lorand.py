"""LoRand (Yin et al., CVPR 2023, "1% VS 100%"), as STAR-MMRotate uses it (docs/spec.md
section 3): ``L(z) = z + M2(gelu(M1(z)))`` where each M is a linear layer whose weight is a sum of
low-rank products ``sum_i (A_i[in x k] @ g_i[k x k] @ B_i[k x out])^T``, plus a bias.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoRandLinear(nn.Module):
    """A linear layer with a multi-branch low-rank weight.

    Args:
        in_features (int): Input width.
        out_features (int): Output width.
        branches (int): Number of low-rank branches. Default: 4.
        kernel (int): Rank k of each branch. Default: 8.
    """

    def __init__(self, in_features: int, out_features: int, branches: int = 4,
                 kernel: int = 8) -> None:
        super().__init__()
        self.A = nn.Parameter(torch.empty(branches, in_features, kernel))
        self.g = nn.Parameter(torch.empty(branches, kernel, kernel))
        self.B = nn.Parameter(torch.empty(branches, kernel, out_features))
        self.bias = nn.Parameter(torch.empty(out_features))
        for factor in (self.A, self.g, self.B):
            for t in factor:
                nn.init.kaiming_uniform_(t, a=math.sqrt(5))
        bound = 1 / math.sqrt(in_features)  # nn.Linear's bias rule
        nn.init.uniform_(self.bias, -bound, bound)

    def weight(self) -> torch.Tensor:
        """The (out, in) weight ``sum_i (A_i g_i B_i)^T``."""
        return torch.bmm(torch.bmm(self.A, self.g), self.B).sum(0).t()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight(), self.bias)

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """A plain ``nn.Linear`` with the product weight, computed once."""
        out_features, in_features = self.B.shape[-1], self.A.shape[1]
        merged = nn.Linear(in_features, out_features).to(self.bias)
        merged.weight.copy_(self.weight())
        merged.bias.copy_(self.bias)
        return merged


class LoRandLayer(nn.Module):
    """``z + M2(gelu(M1(z)))`` with M1: C -> C/reduction, M2: back to C (the ``LoRand`` tuning
    method places two per block).

    Args:
        in_channels (int): Token channels C.
        reduction (int): Hidden width is ``C // reduction``. Default: 2.
        branches (int): Low-rank branches per layer. Default: 4.
        kernel (int): Rank of each branch. Default: 8.
    """

    def __init__(self, in_channels: int, reduction: int = 2, branches: int = 4,
                 kernel: int = 8) -> None:
        super().__init__()
        hidden = in_channels // reduction
        self.m1 = LoRandLinear(in_channels, hidden, branches, kernel)
        self.act = nn.GELU()
        self.m2 = LoRandLinear(hidden, in_channels, branches, kernel)

    def forward(self, x: torch.Tensor,
                hw_shape: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """Args: x: (B, N, C). Returns: (B, N, C)."""
        return x + self.m2(self.act(self.m1(x)))
