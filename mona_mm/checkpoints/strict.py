"""Does a whole-model checkpoint fit a model? The report ``tools/test.py`` and ``init_model`` fail
with, and that training's ``load_from`` logs.

mmengine loads ``load_from`` non-strictly: a checkpoint of another model (another backbone size,
another tuning method, a merged checkpoint without ``deploy=True``) loads partly, with a warning
among the log lines, and the rest of the model stays random. Evaluating such a model measures
nothing; here a key of the model that the file lacks, a key of the file that the model lacks and a
tensor of another shape are named (the first few of each) with the likely cause.
"""
from dataclasses import dataclass, field
from typing import Dict, List

import torch
import torch.nn as nn
from mmengine.model import BaseTTAModel, is_model_wrapper

from mona_mm.models.backbones.pretrained import CheckpointFileError, head
from mona_mm.utils.params import tuned_backbones

#: meta key that tools/model_converters/merge_adapters.py writes into merged checkpoints
MERGED_KEY = 'mona_mm_merged'


class CheckpointMismatchError(CheckpointFileError):
    """A checkpoint whose tensors do not fit the model of the config."""


@dataclass
class Mismatch:
    """Keys of a model and a state dict that do not match."""
    missing: List[str] = field(default_factory=list)  # in the model, not in the file
    unexpected: List[str] = field(default_factory=list)  # in the file, not in the model
    shapes: List[str] = field(default_factory=list)  # 'key: file (a, b) vs model (c, d)'

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model a checkpoint belongs to, inside DDP wrappers and test-time-augmentation models
    (``--tta``), as mmengine's own loading unwraps them."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def strip_module_prefix(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """As mmengine's ``revise_keys`` default: a ``module.`` prefix (DDP) is removed."""
    return {k[7:] if k.startswith('module.') else k: v for k, v in state_dict.items()}


def state_dict_mismatch(model: nn.Module, state_dict: Dict[str, torch.Tensor]) -> Mismatch:
    """Compare ``state_dict`` (already without ``module.``) with ``model``'s keys and shapes."""
    own = model.state_dict()
    return Mismatch(
        missing=sorted(set(own) - set(state_dict)),
        unexpected=sorted(set(state_dict) - set(own)),
        shapes=[f'{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                for k, v in state_dict.items()
                if k in own and hasattr(v, 'shape') and tuple(v.shape) != tuple(own[k].shape)])


def _likely_cause(model: nn.Module, checkpoint: dict, mismatch: Mismatch) -> str:
    merged = MERGED_KEY in checkpoint.get('meta', {})
    deploy = any(getattr(b, 'deploy', False) for b in tuned_backbones(model).values())
    if merged and not deploy:
        return ('It is a merged checkpoint (adapters folded by merge_adapters.py): test it with '
                '--cfg-options model.backbone.deploy=True.')
    if deploy and not merged:
        return ('The config merges the adapters (deploy=True) but the checkpoint is not merged: '
                'merge it first with tools/model_converters/merge_adapters.py, or leave '
                'deploy=True out.')
    if mismatch.unexpected and not mismatch.missing:
        return ('The file has more than the model: a larger backbone (Swin-S/B weights in a '
                'Swin-T config?) or other adapters than the config\'s `tuning`?')
    if mismatch.shapes and not mismatch.missing and not mismatch.unexpected:
        return 'Another number of classes, or another model width?'
    return 'Is it a checkpoint of this config (the same model, backbone size and `tuning`)?'


def describe_mismatch(model: nn.Module, checkpoint: dict, filename: str,
                      mismatch: Mismatch) -> str:
    """One line: the file, the first few keys of each kind, and the likely cause."""
    parts = []
    if mismatch.missing:
        parts.append(f'{len(mismatch.missing)} tensors of the model are not in it '
                     f'(e.g. {head(mismatch.missing, 4)})')
    if mismatch.unexpected:
        parts.append(f'{len(mismatch.unexpected)} of its tensors are not in the model '
                     f'(e.g. {head(mismatch.unexpected, 4)})')
    if mismatch.shapes:
        parts.append(f'{len(mismatch.shapes)} tensors differ in shape '
                     f'(e.g. {head(mismatch.shapes, 2)})')
    return (f'The checkpoint {filename} does not fit the model of this config: '
            f'{"; ".join(parts)}. {_likely_cause(model, checkpoint, mismatch)}')


def whole_checkpoint(checkpoint, filename: str) -> dict:
    """A checkpoint as ``{'state_dict': ..., 'meta': ...}``: a bare state dict (what
    ``torch.save(model.state_dict())`` writes, which tools/test.py takes too) is wrapped.

    Raises:
        CheckpointFileError: anything that is neither (a list, a dict without tensors).
    """
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get('state_dict'), dict):
        return checkpoint
    if isinstance(checkpoint, dict) and checkpoint and all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return {'state_dict': checkpoint, 'meta': {}}
    raise CheckpointFileError(
        f'The checkpoint {filename} holds a {type(checkpoint).__name__}'
        f'{" without a state_dict" if isinstance(checkpoint, dict) else ""}, not a model '
        f'checkpoint (a dict with a state_dict, as tools/train.py saves, or a state dict).')


def check_fits(model: nn.Module, checkpoint: dict, filename: str) -> None:
    """Raise unless ``checkpoint['state_dict']`` has exactly the model's keys and shapes.

    Raises:
        CheckpointMismatchError: naming the file, the first few missing, unexpected and
            mis-shaped keys and the likely cause (a merged checkpoint without ``deploy=True``,
            a larger backbone ...).
    """
    state = checkpoint.get('state_dict', checkpoint)
    mismatch = state_dict_mismatch(model, strip_module_prefix(state))
    if mismatch:
        raise CheckpointMismatchError(describe_mismatch(model, checkpoint, filename, mismatch))
