"""ViTDet's simple feature pyramid, for detectors on a plain ViT (``ViTMona``).

Li, Mao, Girshick, He, "Exploring Plain Vision Transformer Backbones for Object Detection", ECCV
2022 (arXiv 2203.16527): a plain ViT has one map, of stride p; the pyramid is built from that last
map alone by deconvolutions (4x, 2x), the map itself (1x) and max-pooling (0.5x), each followed by
a 1x1 and a 3x3 convolution with LayerNorm, plus a stride-2 subsampling of the coarsest level for
one more (as detectron2's ``LastLevelMaxPool``). mmdet keeps its port (``SimpleFPN``) in its
projects/ folder, which pip does not install; this is the same structure, registered in mmdet's
``MODELS``.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a (B, C, H, W) map (ViTDet's ``LayerNorm`` of conv
    features)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _scale_layers(channels: int, scale: float) -> Tuple[nn.Module, int]:
    """The resampling of one pyramid level and its output channels (ViTDet)."""
    if scale == 4:
        half, quarter = channels // 2, channels // 4
        return nn.Sequential(
            nn.ConvTranspose2d(channels, half, 2, stride=2), LayerNorm2d(half, eps=1e-6),
            nn.GELU(), nn.ConvTranspose2d(half, quarter, 2, stride=2)), quarter
    if scale == 2:
        return nn.ConvTranspose2d(channels, channels // 2, 2, stride=2), channels // 2
    if scale == 1:
        return nn.Identity(), channels
    if scale == 0.5:
        return nn.MaxPool2d(kernel_size=2, stride=2), channels
    raise ValueError(f'SimpleFeaturePyramid: scale {scale} is not one of 4, 2, 1, 0.5.')


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """The pyramid of a plain backbone's last feature map.

    Args:
        in_channels (int): Channels of the backbone's map.
        out_channels (int): Channels of every level. Default: 256.
        scales (Sequence[float]): Resampling of the map per level, from 4, 2, 1, 0.5: a stride-16
            ViT gives strides 4, 8, 16, 32. Default: (4, 2, 1, 0.5).
        num_outs (int): Levels returned; those beyond ``scales`` subsample the coarsest level by
            2 each (max-pooling with kernel 1, as detectron2 and mmdet's FPN). Default: 5.
        init_cfg (dict, optional): Default: Xavier-uniform convolutions and deconvolutions, as
            mmdet's FPN initialises its convolutions.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 scales: Sequence[float] = (4, 2, 1, 0.5),
                 num_outs: int = 5,
                 init_cfg=dict(
                     type='Xavier', layer=['Conv2d', 'ConvTranspose2d'],
                     distribution='uniform')) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_outs < len(scales):
            raise ValueError(f'SimpleFeaturePyramid: num_outs={num_outs} is fewer than the '
                             f'{len(scales)} scales.')
        self.num_outs = num_outs
        self.scale_layers = nn.ModuleList()
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for scale in scales:
            layers, channels = _scale_layers(in_channels, scale)
            self.scale_layers.append(layers)
            # no bias before a norm, as ViTDet
            self.lateral_convs.append(nn.Sequential(
                nn.Conv2d(channels, out_channels, 1, bias=False), LayerNorm2d(out_channels,
                                                                              eps=1e-6)))
            self.fpn_convs.append(nn.Sequential(
                nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                LayerNorm2d(out_channels, eps=1e-6)))

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Args: inputs: the backbone's maps; the last one, (B, C, H, W), is used.
        Returns: ``num_outs`` maps (B, out_channels, H * s, W * s), finest first."""
        x = inputs[-1]
        outs: List[torch.Tensor] = [
            fpn(lateral(scale(x)))
            for scale, lateral, fpn in zip(self.scale_layers, self.lateral_convs, self.fpn_convs)]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)
