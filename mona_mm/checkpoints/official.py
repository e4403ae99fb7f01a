"""Convert checkpoints of the official Mona code and of STAR-MMRotate to mona_mm's keys.

Official Mona (github.com/Leiyi-Hu/mona, mmdet 2.x / mmseg 0.x) keeps Microsoft's Swin names
(``backbone.layers.0.blocks.0.attn.qkv.weight``, ``mlp.fc1``, ``patch_embed.proj``) and calls the
two Monas of a block ``my_module_1`` and ``my_module_2``; STAR-MMRotate calls them ``mona1`` and
``mona2``. The Swin part is converted with mmdet's own ``swin_converter`` (which also reorders
the patch-merging weights); the Mona modules keep their inner names (``project1``,
``adapter_conv.conv1`` ...), so only the block-level name changes. Keys outside the backbone (neck,
heads) are kept as they are.

Only Mona checkpoints are converted: the official code's Adapter and AdaptFormer variants name
their modules ``my_module_1/2`` too, and renaming them to ``mona1/2`` would give keys that load
into nothing. The input must hold a whole Swin backbone (not a delta, not a ResNet) whose every
``my_module``/``mona`` module has exactly the tensors of a Mona (``adapter_conv.*``, ``gamma``,
``gammax`` ...); anything else is refused with what was found.
"""
import re
from collections import OrderedDict, defaultdict
from typing import Dict, FrozenSet

import torch
from mmdet.models.backbones.swin import swin_converter

from mona_mm.layers import MonaLayer

_ADAPTER_NAMES = {'my_module_1': 'mona1', 'my_module_2': 'mona2'}
#: ``<layers|stages>.i.blocks.j.<module>.<tensor>`` of an adapter module in a Swin block
_ADAPTER_KEY = re.compile(
    r'^(?P<block>(?:layers|stages)\.\d+\.blocks\.\d+)\.(?P<name>my_module_[12]|mona[12])\.'
    r'(?P<tensor>.+)$')
#: the patch embedding of a Swin: Microsoft/official layout, mmdet layout
_SWIN_STEM = ('patch_embed.proj.weight', 'patch_embed.projection.weight')


def mona_tensor_names() -> FrozenSet[str]:
    """The tensors of one Mona module (``project1.weight``, ``adapter_conv.conv1.weight``,
    ``gamma`` ...), from our own ``MonaLayer``, which has the official names."""
    return frozenset(MonaLayer(8, bottleneck=4).state_dict())


def check_official_mona(backbone: Dict[str, torch.Tensor]) -> None:
    """Refuse a backbone state dict (without ``backbone.``) that is not a Swin with Monas.

    Raises:
        ValueError: no Swin patch embedding (a delta checkpoint, another architecture), no Mona
            module, or modules named like Monas that are not Monas (official Adapter,
            AdaptFormer); the message names what was found.
    """
    if not any(k in backbone for k in _SWIN_STEM):
        raise ValueError(
            f'The backbone is not a whole Swin Transformer: it has no patch embedding '
            f'({" / ".join(_SWIN_STEM)}); its keys start with {sorted(backbone)[:3]}. A delta '
            f'checkpoint or another architecture (ResNet ...) cannot be converted.')
    modules = defaultdict(set)
    for key in backbone:
        match = _ADAPTER_KEY.match(key)
        if match:
            modules[f'{match["block"]}.{match["name"]}'].add(match['tensor'])
    if not modules:
        raise ValueError('The Swin backbone has no Mona modules (my_module_1/2 of the official '
                         'Mona code, mona1/2 of STAR-MMRotate): not a Mona checkpoint. A plain '
                         'Swin is used as pretrained weights as it is.')
    expected = mona_tensor_names()
    wrong = {name: tensors for name, tensors in sorted(modules.items()) if tensors != expected}
    if wrong:
        name, tensors = next(iter(wrong.items()))
        raise ValueError(
            f'{len(wrong)} of the {len(modules)} adapter modules are not Monas: e.g. {name} holds '
            f'{sorted(tensors)[:4]}, a Mona holds {sorted(expected)[:4]} ... (adapter_conv, '
            f'gamma, gammax). The official Adapter and AdaptFormer code name their modules '
            f'my_module_1/2 too; only Mona checkpoints are converted.')


def convert_official_mona(state_dict: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Map an official Mona / STAR-MMRotate state dict to mona_mm's SwinMona keys.

    Raises:
        KeyError: no ``backbone.`` keys (not a detector/segmentor checkpoint).
        ValueError: not a Swin with Mona modules (see :func:`check_official_mona`).
    """
    backbone = OrderedDict((k[len('backbone.'):], v) for k, v in state_dict.items()
                           if k.startswith('backbone.'))
    rest = OrderedDict((k, v) for k, v in state_dict.items() if not k.startswith('backbone.'))
    if not backbone:
        raise KeyError('No "backbone." keys: not a detector/segmentor checkpoint of the official '
                       'Mona code.')
    check_official_mona(backbone)
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
