"""Mona, the Multi-cognitive Visual Adapter.

From "5%>100%: Breaking Performance Shackles of Full Fine-Tuning on Visual Recognition Tasks"
(Yin et al., CVPR 2025, arXiv 2408.08345); reference code github.com/Leiyi-Hu/mona (Apache-2.0).
This restates the official module exactly (docs/spec.md section 1), keeping its attribute names
(``project1``, ``adapter_conv.conv1`` ...) so official checkpoints convert by a block-level rename
only. Pure PyTorch: no OpenMMLab import.

    x1  = LN(x) * gamma + x * gammax                        scaled LayerNorm
    p   = project1(x1)                                      C -> bottleneck
    p   = MonaOp(p as a (B, bottleneck, H, W) map)           multi-cognitive convolutions
    out = x + project2(dropout(gelu(p)))                    bottleneck -> C, skip from x

On a plain ViT the sequence also holds tokens that are not on the map (a class token, register
tokens), in front of the ``H * W`` patch tokens. They take every step but the convolution (which
has no place for them): ``p`` of those tokens goes to GELU unchanged. Swin has none.

In training and inference the layer runs as one autograd function with its convolutions merged
and a hand-written backward (:mod:`.mona_step`: 9 ops forward, 25 back, only GELU's input and
dropout's mask kept beyond the output); ``adapter_conv.fused = False`` runs the formula module
by module instead (:meth:`MonaLayer.forward_modules`, the reference it is tested against).
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .mona_step import kernels, merged_convs, mona_step, prepare_kernels


def pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution of a (B, C, H, W) map as one matrix product over its channels-last view
    (about 2x faster than the conv, forward and backward, on CPU); returns a channels-last map."""
    return F.linear(x.permute(0, 2, 3, 1), weight.flatten(1), bias).permute(0, 3, 1, 2)


class MonaOp(nn.Module):
    """Mona's multi-cognitive convolution on a bottleneck feature map.

    ``y = (dw3(x) + dw5(x) + dw7(x)) / 3 + x`` then ``y + projector(y)``. No norm, no activation:
    the op is linear, so it equals one depthwise 7x7 conv followed by one 1x1 conv
    (:meth:`merged_kernels`). With ``fused=True`` (default) the forward builds those two kernels
    from the parameters on every call and runs one convolution and one matrix product (the 1x1,
    over the channels-last map) instead of four convolutions plus the adds:
    same parameters and state-dict keys, same outputs and gradients up to rounding (tested to
    1e-5), fewer passes over the feature map. ``fused=False`` runs the official formula as written.

    Args:
        channels (int): Channels of the bottleneck map (the three depthwise convs use
            ``groups=channels``).
        fused (bool): Run as one merged depthwise 7x7 plus one 1x1 conv. Default: True.
    """

    def __init__(self, channels: int, fused: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.conv2 = nn.Conv2d(channels, channels, 5, padding=2, groups=channels)
        self.conv3 = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.projector = nn.Conv2d(channels, channels, 1)
        self.fused = fused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: (B, C, H, W). Returns: (B, C, H, W)."""
        if self.fused:
            dw, dw_bias, pw, pw_bias = self._kernels()
            return pointwise(F.conv2d(x, dw, dw_bias, padding=3, groups=dw.shape[0]), pw,
                             pw_bias)
        x = (self.conv1(x) + self.conv2(x) + self.conv3(x)) / 3.0 + x
        return x + self.projector(x)

    def _kernels(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The single-conv form, differentiable in the parameters (docs/spec.md section 1)."""
        dw, dw_bias, pw = merged_convs([self])
        return dw[0], dw_bias[0], pw[0][..., None, None], self.projector.bias

    @torch.no_grad()
    def merged_kernels(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The exact single-conv form of this op (docs/spec.md section 1).

        Returns:
            tuple: ``(dw_weight (C,1,7,7), dw_bias (C,), pw_weight (C,C,1,1), pw_bias (C,))`` such
            that ``conv1x1(dwconv7x7(x))`` with these weights equals ``forward(x)``.
        """
        return tuple(t.detach().clone() for t in self._kernels())

    def merge(self) -> 'MergedMonaOp':
        """Return the equivalent :class:`MergedMonaOp` (outputs equal up to rounding)."""
        dw, dw_bias, pw, pw_bias = self.merged_kernels()
        merged = MergedMonaOp(dw.shape[0]).to(dw)
        with torch.no_grad():
            for param, value in zip(merged.parameters(), (dw, dw_bias, pw, pw_bias)):
                param.copy_(value)
        return merged


class MergedMonaOp(nn.Module):
    """The deployment form of :class:`MonaOp`: one depthwise 7x7 conv, then one 1x1 conv.

    Built by :meth:`MonaOp.merge` (or empty, to load a merged checkpoint into).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.pw = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pointwise(self.dw(x), self.pw.weight, self.pw.bias)


class MonaLayer(nn.Module):
    """One Mona adapter on a token sequence of a ``H x W`` map (the ``Mona`` tuning method
    places two per block).

    Args:
        in_channels (int): Token channels C.
        bottleneck (int): Bottleneck width. The official code always uses 64 (its ``factor``
            argument is ignored). Default: 64.
        drop (float): Dropout after GELU. Default: 0.1.
        init_scale (float): Initial value of ``gamma``, the LayerNorm branch scale.
            Default: 1e-6 (official).

    Attributes:
        fused_step (bool): Run training and inference as one :class:`.mona_step.MonaStep`
            (default). False: module by module under autograd (:meth:`forward_modules`), same
            numbers, more ops and more kept for backward; for comparison only.
    """

    fused_step = True

    def __init__(self,
                 in_channels: int,
                 bottleneck: int = 64,
                 drop: float = 0.1,
                 init_scale: float = 1e-6) -> None:
        super().__init__()
        self.project1 = nn.Linear(in_channels, bottleneck)
        self.nonlinear = nn.GELU()
        self.project2 = nn.Linear(bottleneck, in_channels)
        self.dropout = nn.Dropout(p=drop)
        self.adapter_conv = MonaOp(bottleneck)
        self.norm = nn.LayerNorm(in_channels)
        self.gamma = nn.Parameter(torch.ones(in_channels) * init_scale)
        self.gammax = nn.Parameter(torch.ones(in_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Official initialisation: Linear trunc_normal(0.02) with zero bias; the convs keep
        PyTorch's default; LayerNorm (1, 0)."""
        for m in (self.project1, self.project2):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        self.norm.reset_parameters()

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        """Args:
            x: (B, N, C) tokens: ``N - H * W`` tokens off the map (class/register tokens; none
                on Swin) followed by the ``H * W`` patch tokens in row-major order.
            hw_shape: ``(H, W)``, the unpadded token resolution.

        Returns:
            (B, N, C).
        """
        h, w = hw_shape
        b, n, c = x.shape
        extra = n - h * w
        if extra < 0:
            raise ValueError(f'Mona got {n} tokens for a {h}x{w} map.')
        op = self.adapter_conv
        if isinstance(op, MergedMonaOp):
            k = op.pw.weight.shape[0]
            built = (self.norm.weight * self.gamma, self.norm.bias * self.gamma, op.dw.weight,
                     op.dw.bias, op.pw.weight.view(k, k), op.pw.bias)
            return mona_step(self, x, hw_shape, extra, built)
        if self.fused_step and isinstance(op, MonaOp) and op.fused:
            return mona_step(self, x, hw_shape, extra, kernels(self))
        return self.forward_modules(x, hw_shape)  # official formula, or another op put there

    def forward_modules(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        """The formula module by module, autograd doing the backward: with
        ``adapter_conv.fused=False`` the official code's four convolutions (the reference the
        fused step is tested against); with ``fused_step=False`` and a fused op, the merged
        convolution built per layer (how the layer ran before :mod:`.mona_step`; the
        benchmark's ``Mona+autograd``)."""
        h, w = hw_shape
        b, n, c = x.shape
        extra = n - h * w
        norm = self.norm
        x1 = norm(x) * self.gamma + x * self.gammax
        p = self.project1(x1)
        if extra:
            p_extra, p = p[:, :extra], p[:, extra:]
        p = self.adapter_conv(p.reshape(b, h, w, -1).permute(0, 3, 1, 2))
        p = p.permute(0, 2, 3, 1).reshape(b, h * w, -1)
        if extra:
            p = torch.cat([p_extra, p], dim=1)
        return x + self.project2(self.dropout(self.nonlinear(p)))

    @staticmethod
    def prepare_group(layers: Sequence['MonaLayer']) -> None:
        """Build the per-step kernels of many layers in one batched pass (called once per
        forward by the backbone that holds them); each layer then uses its own."""
        prepare_kernels([layer for layer in layers if layer.fused_step
                         and isinstance(layer.adapter_conv, MonaOp) and layer.adapter_conv.fused])
