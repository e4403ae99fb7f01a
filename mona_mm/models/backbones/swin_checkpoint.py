"""The published Swin checkpoint layouts, mapped to ``SwinMona``'s keys.

Accepted, detected from the keys (timm's ``checkpoint_filter_fn`` habit: a pure filter next to
the model):

* Microsoft release files (``{'model': ...}``, ``layers.0.blocks.0.attn.qkv.weight``,
  ``relative_position_index`` and ``attn_mask`` buffers, a classification ``head`` and ``norm``):
  converted with mmdet's own ``swin_converter``, the conversion mmdet/mmseg apply;
* files already converted by mmdet/mmseg (``stages.0.blocks.0.attn.w_msa.qkv.weight``);
* whole-detector/segmentor checkpoints (``backbone.`` prefix; neck and head keys are skipped)
  and ``module.``-wrapped ones.

The load itself, its report and its refusals are family-neutral (``pretrained.py``). Unlike
mmdet's ``SwinTransformer.init_weights`` (which loads non-strictly and silently drops every key
without a ``backbone.`` prefix), a missing key that is not an adapter's own or an output norm is
an error and a shape mismatch is an error naming each key.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.backbones.swin import swin_converter

from .pretrained import resize_grid, split_backbone_prefix

# keys of Microsoft files that have no counterpart in a dense-prediction backbone
_CLASSIFIER_ONLY = ('head.', 'norm.')


def swin_to_backbone_keys(state_dict: Dict[str, torch.Tensor],
                          convert_weights: Optional[bool] = None
                          ) -> Tuple[Dict[str, torch.Tensor], str, List[str]]:
    """Map any accepted Swin checkpoint layout to SwinMona keys.

    Args:
        state_dict: The unwrapped state dict of the file.
        convert_weights: Force (True) or forbid (False) the Microsoft conversion; None detects
            it from the keys.

    Returns:
        tuple: ``(state_dict, source_format, ignored_keys)``.
    """
    state_dict, ignored, whole_model = split_backbone_prefix(state_dict)
    fmt = 'detector/segmentor (backbone.)' if whole_model else 'mmdet/mmseg-converted'
    is_microsoft = any(k.startswith('layers.') for k in state_dict)
    if convert_weights if convert_weights is not None else is_microsoft:
        ignored += [k for k in state_dict if k.startswith(_CLASSIFIER_ONLY)]
        state_dict = OrderedDict(
            (k[9:], v) for k, v in swin_converter(state_dict).items()
            if not k[9:].startswith(_CLASSIFIER_ONLY))
        fmt = 'Microsoft (converted with mmdet swin_converter)'
    ignored += [k for k in state_dict if k.endswith('attn_mask')]
    state_dict = OrderedDict((k, v) for k, v in state_dict.items() if not k.endswith('attn_mask'))
    return state_dict, fmt, ignored


def adapt_swin_tensor(key: str, value: torch.Tensor,
                      target: torch.Size) -> Optional[torch.Tensor]:
    """Another window size: relative-position bias tables are resized (bicubic, as mmdet and
    timm do) and the relative-position index is left out (the model computes its own)."""
    if key.endswith('relative_position_bias_table') and value.shape[1] == target[1]:
        src, dst = int(value.shape[0]**0.5), int(target[0]**0.5)
        return resize_grid(value, (src, src), (dst, dst))
    if key.endswith('relative_position_index'):
        return None
    return value
