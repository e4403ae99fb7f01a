"""Loading public Swin checkpoints into ``SwinMona``, with a report of what loaded.

Accepted, detected from the keys (timm's ``checkpoint_filter_fn`` habit: a pure filter next to
the model):

* Microsoft release files (``{'model': ...}``, ``layers.0.blocks.0.attn.qkv.weight``,
  ``relative_position_index`` and ``attn_mask`` buffers, a classification ``head`` and ``norm``):
  converted with mmdet's own ``swin_converter``, the conversion mmdet/mmseg apply;
* files already converted by mmdet/mmseg (``stages.0.blocks.0.attn.w_msa.qkv.weight``);
* whole-detector/segmentor checkpoints (``backbone.`` prefix; neck and head keys are skipped)
  and ``module.``-wrapped ones.

Unlike mmdet's ``SwinTransformer.init_weights`` (which loads non-strictly and silently drops
every key without a ``backbone.`` prefix), a missing key that is not an adapter's own or an
output norm is an error, a shape mismatch is an error naming each key, and the report of what
loaded, what was missing and what was ignored goes to the log.
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmdet.models.backbones.swin import swin_converter
from mmengine.logging import MMLogger, print_log
from mmengine.runner.checkpoint import CheckpointLoader

if TYPE_CHECKING:
    from .swin_mona import SwinMona

# keys of Microsoft files that have no counterpart in a dense-prediction backbone
_CLASSIFIER_ONLY = ('head.', 'norm.')


@dataclass
class LoadReport:
    """What a pretrained load did. Printed to the log; also returned for tests and tools."""
    source_format: str
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    missing_allowed: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)
    resized: List[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f'Loaded {len(self.loaded)} tensors from a {self.source_format} Swin checkpoint.']
        if self.resized:
            lines.append(f'  resized (bicubic, window size differs): {len(self.resized)} '
                         f'relative_position_bias_table(s)')
        if self.missing_allowed:
            lines.append(f'  not in checkpoint, kept at initialisation (adapters, output '
                         f'norms): {len(self.missing_allowed)} tensors, e.g. '
                         f'{_head(self.missing_allowed)}')
        if self.ignored:
            lines.append(f'  ignored (classification head, attn_mask buffers, non-backbone '
                         f'keys): {len(self.ignored)}, e.g. {_head(self.ignored)}')
        if self.unexpected:
            lines.append(f'  unexpected keys: {self.unexpected}')
        if self.missing:
            lines.append(f'  MISSING backbone keys: {self.missing}')
        return '\n'.join(lines)


def _head(keys: List[str], n: int = 3) -> str:
    return ', '.join(keys[:n]) + (', ...' if len(keys) > n else '')


def read_checkpoint(checkpoint: Union[str, dict], logger=None) -> Dict[str, torch.Tensor]:
    """Load a checkpoint file (any mmengine-supported path/URL) and unwrap its state dict."""
    if isinstance(checkpoint, str):
        checkpoint = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu',
                                                      logger=logger)
    for key in ('state_dict', 'model', 'module'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    if not isinstance(checkpoint, dict) or not checkpoint:
        raise ValueError('The checkpoint holds no state dict (expected a dict of tensors, or '
                         'one under "state_dict" / "model").')
    return OrderedDict((k[7:] if k.startswith('module.') else k, v)
                       for k, v in checkpoint.items())


def to_backbone_keys(state_dict: Dict[str, torch.Tensor],
                     convert_weights: Optional[bool] = None):
    """Map any accepted checkpoint layout to SwinMona keys.

    Returns:
        tuple: ``(state_dict, source_format, ignored_keys)``.
    """
    ignored: List[str] = []
    if any(k.startswith('backbone.') for k in state_dict):
        ignored += [k for k in state_dict if not k.startswith('backbone.')]
        state_dict = OrderedDict(
            (k[9:], v) for k, v in state_dict.items() if k.startswith('backbone.'))
        fmt = 'detector/segmentor (backbone.)'
    else:
        fmt = 'mmdet/mmseg-converted'
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


def _resize_bias_table(table: torch.Tensor, target_len: int) -> torch.Tensor:
    length, heads = table.shape
    src, dst = int(length**0.5), int(target_len**0.5)
    table = table.permute(1, 0).reshape(1, heads, src, src)
    table = F.interpolate(table, size=(dst, dst), mode='bicubic')
    return table.view(heads, target_len).permute(1, 0).contiguous()


def load_swin_pretrained(model: 'SwinMona',
                         checkpoint: Union[str, dict],
                         convert_weights: Optional[bool] = None,
                         strict: bool = True,
                         logger: Optional[MMLogger] = None) -> LoadReport:
    """Load pretrained Swin weights into ``model`` and report what happened.

    Raises:
        ValueError: shapes that do not fit (wrong architecture), naming every such key; with
            ``strict``, backbone keys the checkpoint lacks (other than adapters' own and the
            output norms ``norm{i}``, which ImageNet checkpoints never hold).
    """
    logger = logger or MMLogger.get_current_instance()
    state_dict, fmt, ignored = to_backbone_keys(read_checkpoint(checkpoint, logger),
                                                convert_weights)
    own = model.state_dict()
    report = LoadReport(source_format=fmt, ignored=ignored)

    mismatched = []
    for key, value in list(state_dict.items()):
        if key not in own:
            continue
        target = own[key].shape
        if key.endswith('relative_position_bias_table') and value.shape[1] == target[1] \
                and value.shape[0] != target[0]:
            state_dict[key] = _resize_bias_table(value, target[0])
            report.resized.append(key)
        elif key.endswith('relative_position_index') and value.shape != target:
            ignored.append(key)  # recomputed for the model's window size
            del state_dict[key]
        elif value.shape != target:
            mismatched.append(f'{key}: checkpoint {tuple(value.shape)} vs model {tuple(target)}')
    if mismatched:
        raise ValueError(
            f'The checkpoint does not fit this SwinMona ({len(mismatched)} shape mismatches; '
            f'wrong arch/embed_dims/depths/window_size?):\n  ' + '\n  '.join(mismatched[:20]))

    result = model.load_state_dict(state_dict, strict=False)
    report.unexpected = sorted(result.unexpected_keys)
    out_norms = tuple(f'norm{i}.' for i in model.out_indices)
    for key in sorted(result.missing_keys):
        allowed = key in model.adapter_param_names or key.startswith(out_norms) or (
            key.endswith('relative_position_index'))
        (report.missing_allowed if allowed else report.missing).append(key)
    report.loaded = sorted(k for k in state_dict if k in own)
    print_log(report.summary(), logger=logger)
    if report.missing and strict:
        raise ValueError(
            f'{len(report.missing)} backbone weights are missing from the checkpoint, e.g. '
            f'{_head(report.missing, 5)}. Is it a Swin checkpoint of this architecture? To '
            f'start those weights from scratch on purpose, set strict_pretrained=False.')
    return report
