"""LoRA (Hu et al., ICLR 2022) on slices of a fused projection, as the Mona paper's baseline
uses it: low-rank updates of Q and V inside Swin's fused ``qkv`` Linear, K untouched
(docs/spec.md section 3: r=64, alpha=1, no dropout, A kaiming-uniform(a=sqrt 5), B zeros).
"""
import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoRALinear(nn.Linear):
    """An ``nn.Linear`` whose chosen output blocks get ``(alpha / r) * B_i A_i x``.

    It takes over the base layer's own ``weight`` and ``bias`` Parameters, so the state-dict keys
    of the pretrained weights do not change (``...qkv.weight``); the low-rank factors are
    ``lora_A`` (n, r, in) and ``lora_B`` (n, out_block, r). B starts at zero, so the layer starts
    as an exact copy of the base layer.

    Args:
        base (nn.Linear): The layer to adapt (its parameters are shared, not copied).
        blocks (Sequence[int]): Which of the ``num_blocks`` equal output blocks get an update
            (for a fused qkv: 0 = Q, 1 = K, 2 = V).
        num_blocks (int): Number of equal output blocks of ``base``. Default: 3.
        rank (int): r. Default: 64.
        alpha (float): Scaling numerator: the update is scaled by ``alpha / rank``. Default: 1.
        dropout (float): Dropout on the input of the low-rank path. Default: 0.
    """

    def __init__(self,
                 base: nn.Linear,
                 blocks: Sequence[int] = (0, 2),
                 num_blocks: int = 3,
                 rank: int = 64,
                 alpha: float = 1.0,
                 dropout: float = 0.0) -> None:
        nn.Module.__init__(self)
        self.in_features, self.out_features = base.in_features, base.out_features
        if self.out_features % num_blocks:
            raise ValueError(f'{self.out_features} outputs do not split into {num_blocks} blocks')
        self.weight = base.weight
        self.bias = base.bias
        self.blocks = tuple(blocks)
        self.num_blocks = num_blocks
        self.rank = rank
        self.scaling = alpha / rank
        block = self.out_features // num_blocks
        self.lora_A = nn.Parameter(base.weight.new_empty(len(self.blocks), rank, self.in_features))
        self.lora_B = nn.Parameter(base.weight.new_zeros(len(self.blocks), block, rank))
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        for a in self.lora_A:
            nn.init.kaiming_uniform_(a, a=math.sqrt(5))

    def delta_weight(self) -> torch.Tensor:
        """The (out, in) update that :meth:`forward` adds, for merging into ``weight``."""
        block = self.out_features // self.num_blocks
        delta = self.weight.new_zeros(self.num_blocks, block, self.in_features)
        delta[list(self.blocks)] = torch.bmm(self.lora_B, self.lora_A) * self.scaling
        return delta.reshape(self.out_features, self.in_features)

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """A plain ``nn.Linear`` with ``weight + delta_weight()`` (the pretrained key layout)."""
        merged = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None)
        merged = merged.to(self.weight)
        merged.weight.copy_(self.weight + self.delta_weight())
        if self.bias is not None:
            merged.bias.copy_(self.bias)
        return merged

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: (..., in). Returns: (..., out)."""
        out = F.linear(x, self.weight, self.bias)
        h = self.lora_dropout(x)
        parts = list(out.chunk(self.num_blocks, dim=-1))
        for k, i in enumerate(self.blocks):
            parts[i] = parts[i] + (h @ self.lora_A[k].t() @ self.lora_B[k].t()) * self.scaling
        return torch.cat(parts, dim=-1)

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, lora blocks={self.blocks}/{self.num_blocks}, '
                f'rank={self.rank}, scaling={self.scaling:g}')
