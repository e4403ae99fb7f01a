"""Convert checkpoints of the official Mona code and of STAR-MMRotate to mona_mm's keys.

Official Mona (github.com/Leiyi-Hu/mona, mmdet 2.x / mmseg 0.x) keeps Microsoft's Swin names
(``backbone.layers.0.blocks.0.attn.qkv.weight``, ``mlp.fc1``, ``patch_embed.proj``) and calls the
two Monas of a block ``my_module_1`` and ``my_module_2``; STAR-MMRotate calls them ``mona1`` and
``mona2``. The Swin part is converted with mmdet's own ``swin_converter`` (which also reorders
the patch-merging weights); the Mona modules keep their inner names (``project1``,
``adapter_conv.conv1`` ...), so only the block-level name changes. Keys outside the backbone (neck,
heads) are kept as they are.
"""
import re
from collections import OrderedDict
from typing import Dict

import torch
from mmdet.models.backbones.swin import swin_converter

_ADAPTER_NAMES = {'my_module_1': 'mona1', 'my_module_2': 'mona2'}


def convert_official_mona(state_dict: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Map an official Mona / STAR-MMRotate state dict to mona_mm's SwinMona keys."""
    backbone = OrderedDict((k[len('backbone.'):], v) for k, v in state_dict.items()
                           if k.startswith('backbone.'))
    rest = OrderedDict((k, v) for k, v in state_dict.items() if not k.startswith('backbone.'))
    if not backbone:
        raise KeyError('No "backbone." keys: not a detector/segmentor checkpoint of the official '
                       'Mona code.')
    if any(k.startswith('layers.') for k in backbone):
        backbone = OrderedDict((k[len('backbone.'):], v)
                               for k, v in swin_converter(backbone).items())
    out = OrderedDict()
    for k, v in backbone.items():
        if k.endswith('attn_mask'):
            continue
        k = re.sub(r'\.(my_module_[12])\.', lambda m: f'.{_ADAPTER_NAMES[m.group(1)]}.', k)
        out['backbone.' + k] = v
    out.update(rest)
    return out
