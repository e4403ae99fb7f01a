"""Loading a pretrained checkpoint into a tuned backbone, with a report of what loaded.

Family-neutral: a backbone family (``swin_checkpoint.py``, ...) maps its published key layouts to
the backbone's keys and says how a tensor whose shape legitimately differs is adapted (Swin's
relative-position tables for another window size, a ViT's position embeddings for another image
size); this module does the rest, the same for every family: shape checks that refuse another
architecture naming every key, a load that reports what loaded, what was ignored, which tensors
stay at their initialisation (the adapters, the output norms) and any unexpected key, and an error
for a missing pretrained weight.
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger, print_log
from mmengine.runner.checkpoint import CheckpointLoader

#: ``adapt(key, value, target_shape)``: the tensor to load for ``key`` (resized if the family knows
#: how), or None to leave the key out as ignored (for example a buffer the model recomputes)
Adapt = Callable[[str, torch.Tensor, torch.Size], Optional[torch.Tensor]]


@dataclass
class LoadReport:
    """What a pretrained load did. Printed to the log; also returned for tests and tools."""
    source_format: str
    family: str
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    missing_allowed: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)
    resized: List[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f'Loaded {len(self.loaded)} tensors from a {self.source_format} '
                 f'{self.family} checkpoint.']
        if self.resized:
            lines.append(f'  resized to this model (bicubic): {len(self.resized)} tensor(s), '
                         f'{head(self.resized)}')
        if self.missing_allowed:
            lines.append(f'  not in checkpoint, kept at initialisation (adapters, output '
                         f'norms): {len(self.missing_allowed)} tensors, e.g. '
                         f'{head(self.missing_allowed)}')
        if self.ignored:
            lines.append(f'  ignored (classification head, recomputed buffers, non-backbone '
                         f'keys): {len(self.ignored)}, e.g. {head(self.ignored)}')
        if self.unexpected:
            lines.append(f'  unexpected keys: {self.unexpected}')
        if self.missing:
            lines.append(f'  MISSING backbone keys: {self.missing}')
        return '\n'.join(lines)


def head(keys: List[str], n: int = 3) -> str:
    """The first ``n`` keys, comma separated, with an ellipsis when there are more."""
    return ', '.join(keys[:n]) + (', ...' if len(keys) > n else '')


def read_checkpoint(checkpoint: Union[str, dict], logger=None) -> Dict[str, torch.Tensor]:
    """Load a checkpoint file (any mmengine-supported path/URL) and unwrap its state dict
    (under ``state_dict``, ``model`` or ``module``; a ``module.`` prefix is removed)."""
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


def split_backbone_prefix(state_dict: Dict[str, torch.Tensor]):
    """A detector/segmentor checkpoint's ``backbone.`` part, without the prefix.

    Returns:
        tuple: ``(state_dict, ignored_keys, is_whole_model)``; a file without ``backbone.`` keys
        comes back unchanged.
    """
    if not any(k.startswith('backbone.') for k in state_dict):
        return state_dict, [], False
    ignored = [k for k in state_dict if not k.startswith('backbone.')]
    return OrderedDict((k[9:], v) for k, v in state_dict.items()
                       if k.startswith('backbone.')), ignored, True


def load_into(model: nn.Module,
              state_dict: Dict[str, torch.Tensor],
              report: LoadReport,
              adapt: Optional[Adapt] = None,
              may_lack: Callable[[str], bool] = lambda key: False,
              strict: bool = True,
              logger: Optional[MMLogger] = None) -> LoadReport:
    """Load ``state_dict`` (already in the backbone's key layout) into ``model``.

    Args:
        model: A tuned backbone (it has ``adapter_param_names`` and ``out_norm_names()``).
        state_dict: Backbone keys to tensors.
        report: The report to fill (``source_format`` and ``ignored`` set by the family).
        adapt: How the family adapts a tensor whose shape differs (see :data:`Adapt`).
        may_lack: Family-specific keys a checkpoint may lack (besides adapters and output norms).
        strict: A missing pretrained weight is an error.

    Raises:
        ValueError: shapes that do not fit (another architecture), naming each key; with
            ``strict``, pretrained keys the checkpoint lacks.
    """
    logger = logger or MMLogger.get_current_instance()
    family = report.family
    own = model.state_dict()
    state_dict = OrderedDict(state_dict)
    mismatched = []
    for key, value in list(state_dict.items()):
        if key not in own or value.shape == own[key].shape:
            continue
        new = adapt(key, value, own[key].shape) if adapt is not None else value
        if new is None:
            report.ignored.append(key)
            del state_dict[key]
        elif new.shape != own[key].shape:
            mismatched.append(f'{key}: checkpoint {tuple(value.shape)} vs model '
                              f'{tuple(own[key].shape)}')
        else:
            state_dict[key] = new
            report.resized.append(key)
    if mismatched:
        raise ValueError(
            f'The checkpoint does not fit this {family} ({len(mismatched)} shape mismatches; '
            f'wrong arch or size settings?):\n  ' + '\n  '.join(mismatched[:20]))

    result = model.load_state_dict(state_dict, strict=False)
    report.unexpected = sorted(result.unexpected_keys)
    out_norms = model.out_norm_names()
    for key in sorted(result.missing_keys):
        allowed = key in model.adapter_param_names or key in out_norms or may_lack(key)
        (report.missing_allowed if allowed else report.missing).append(key)
    report.loaded = sorted(k for k in state_dict if k in own)
    print_log(report.summary(), logger=logger)
    if report.missing and strict:
        raise ValueError(
            f'{len(report.missing)} backbone weights are missing from the checkpoint, e.g. '
            f'{head(report.missing, 5)}. Is it a {family} checkpoint of this architecture? To '
            f'start those weights from scratch on purpose, set strict_pretrained=False.')
    return report
