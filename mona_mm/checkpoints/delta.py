"""Adapter-only ("delta") checkpoints.

A delta holds what training changed: every tensor of a full checkpoint except the frozen
pretrained backbone (adapters, any other trainable backbone tensors, neck, heads and their
buffers), plus a record of the base weights it applies to: a fingerprint of the frozen backbone
tensors and the base checkpoint's name. Loading rebuilds the frozen backbone from the base
checkpoint, verifies the fingerprint, then loads the delta: predictions are those of the full
checkpoint, bit for bit.

The neck and heads train fully in every method, so they are part of the delta: for Cascade
Mask R-CNN they are most of it; the backbone share is what shrinks (Swin-B: 86.7M -> 3.7M).

Deltas are written after the fact (``tools/model_converters/extract_delta.py``) or during
training (``SafeCheckpointHook(delta=True)``: every checkpoint is a delta with the optimizer and
scheduler state of the trained tensors, for ``--resume``). A delta always names a base that a
tool can load: the backbone's pretrained file, or, for a backbone that started from no file,
``base_weights.pth``, its initial tensors written once into the work dir.
"""
import hashlib
from typing import Dict, Optional, Set

import torch
import torch.nn as nn
from mmengine.logging import MMLogger, print_log

from mona_mm.models.backbones.pretrained import load_checkpoint_file, read_checkpoint

DELTA_KEY = 'mona_mm_delta'


def _backbone(model: nn.Module) -> nn.Module:
    backbone = getattr(model, 'backbone', None)
    if backbone is None or not hasattr(backbone, 'trainable_param_names'):
        raise TypeError('Delta checkpoints need a model whose backbone is a tuned backbone '
                        '(SwinMona, ViTMona).')
    return backbone


def frozen_backbone_keys(model: nn.Module) -> Set[str]:
    """State-dict keys (``backbone.``-prefixed) that come from the base weights: frozen
    backbone parameters and the backbone's buffers."""
    backbone = _backbone(model)
    params = {n for n, _ in backbone.named_parameters()}
    return {f'backbone.{k}' for k in backbone.state_dict()
            if k not in params or k not in backbone.trainable_param_names}


def fingerprint(state: Dict[str, torch.Tensor], keys: Set[str]) -> str:
    """A hash of the named tensors' names, shapes, dtypes and bytes."""
    h = hashlib.sha256()
    for k in sorted(keys):
        t = state[k].detach().cpu().contiguous()
        h.update(f'{k}{tuple(t.shape)}{t.dtype}'.encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def is_delta(checkpoint: dict) -> bool:
    return DELTA_KEY in checkpoint.get('meta', {})


def make_delta(checkpoint: dict, model: nn.Module, base: Optional[str] = None) -> dict:
    """Turn a full checkpoint of ``model``'s config into a delta checkpoint.

    Args:
        checkpoint: A full checkpoint (``{'state_dict': ..., 'meta': ...}``).
        model: The model built from the same config (it defines what is frozen).
        base: Name of the base weights (default: the backbone's ``init_cfg`` checkpoint).
    """
    state = checkpoint['state_dict']
    frozen = frozen_backbone_keys(model)
    missing = sorted(frozen - set(state))
    if missing:
        raise KeyError(f'The checkpoint lacks frozen backbone tensors, e.g. {missing[:3]}: is it '
                       f'already a delta, or of another model?')
    init_cfg = _backbone(model).init_cfg or {}
    meta = dict(checkpoint.get('meta', {}))
    meta[DELTA_KEY] = dict(
        base=base or init_cfg.get('checkpoint'),
        base_fingerprint=fingerprint(state, {k for k in frozen if k in state}),
        tuning=[repr(m) for m in _backbone(model).tuning_methods])
    return dict(meta=meta, state_dict={k: v for k, v in state.items() if k not in frozen})


def base_weights_state(model: nn.Module) -> Dict[str, torch.Tensor]:
    """The backbone's own tensors (adapters left out), ``backbone.``-prefixed, on the CPU: the
    base file of a delta whose backbone started from no pretrained file."""
    backbone = _backbone(model)
    return {f'backbone.{k}': v.detach().cpu().clone() for k, v in backbone.state_dict().items()
            if k not in backbone.adapter_param_names}


def delta_record(model: nn.Module, base: Optional[str]) -> dict:
    """What a delta records of its base: the file (path or URL) and the fingerprint of the frozen
    backbone tensors ``model`` holds now."""
    frozen = frozen_backbone_keys(model)
    return dict(base=base, base_fingerprint=fingerprint(model.state_dict(), frozen),
                tuning=[repr(m) for m in _backbone(model).tuning_methods])


def strip_to_delta(checkpoint: dict, model: nn.Module, record: dict) -> dict:
    """Turn a full checkpoint of ``model`` into a delta in place (its frozen backbone tensors
    removed, ``record`` in its meta); optimizer and scheduler state stay."""
    frozen = frozen_backbone_keys(model)
    checkpoint['state_dict'] = type(checkpoint['state_dict'])(
        (k, v) for k, v in checkpoint['state_dict'].items() if k not in frozen)
    checkpoint.setdefault('meta', {})[DELTA_KEY] = dict(record)
    return checkpoint


def _load_base(model: nn.Module, record: dict, base, logger) -> str:
    """Put the delta's base weights into ``model``'s backbone (unless it holds them already) and
    verify them; returns the base's name."""
    backbone = _backbone(model)
    frozen = frozen_backbone_keys(model)
    if fingerprint(model.state_dict(), frozen) == record['base_fingerprint']:
        return 'the frozen weights the model holds (verified)'
    base = base or record.get('base') or (backbone.init_cfg or {}).get('checkpoint')
    if base is None:
        raise ValueError('The delta needs its base weights: pass --base BASE_CHECKPOINT.')
    base_state = read_checkpoint(base, logger, what='base weights') if isinstance(base, str) \
        else base
    backbone.load_pretrained(base_state, strict=True, logger=logger)
    if fingerprint(model.state_dict(), frozen) != record['base_fingerprint']:
        raise ValueError(f'The base weights {base!r} are not the ones this delta was trained on '
                         f'(fingerprint mismatch); the delta records base {record.get("base")!r}.')
    return base if isinstance(base, str) else 'base dict'


def complete_delta(checkpoint: dict, model: nn.Module, base: Optional[str] = None,
                   logger=None) -> dict:
    """Give a delta checkpoint its frozen backbone tensors back, in place, from its base (loaded
    into ``model``'s backbone unless the model holds it already, and verified), so that it loads
    as a full checkpoint (``load_from``, ``--resume``).

    Raises:
        ValueError: no base, or base weights other than those the delta was trained on.
    """
    logger = logger or MMLogger.get_current_instance()
    record = checkpoint['meta'][DELTA_KEY]
    name = _load_base(model, record, base, logger)
    own = model.state_dict()
    state = checkpoint['state_dict']
    checkpoint['state_dict'] = type(state)(
        [(k, own[k]) for k in sorted(frozen_backbone_keys(model))] + list(state.items()))
    print_log(f'Delta checkpoint: {len(state)} tensors, the frozen backbone from {name}',
              logger=logger)
    return checkpoint


def load_delta(model: nn.Module, delta, base: Optional[str] = None, logger=None) -> dict:
    """Load base weights then a delta into ``model``; verify they belong together.

    Args:
        model: The model built from the delta's config.
        delta: A delta checkpoint dict or its path.
        base: The base checkpoint (a Microsoft/mmdet Swin file or a full checkpoint). Default: the
            backbone's ``init_cfg`` checkpoint.

    Raises:
        ValueError: the base weights are not those the delta was trained on, or the delta does
            not fit the model.
    """
    logger = logger or MMLogger.get_current_instance()
    name = delta if isinstance(delta, str) else 'delta'
    if isinstance(delta, str):
        delta = load_checkpoint_file(delta, 'delta checkpoint', logger=logger)
    if not is_delta(delta):
        raise ValueError(f'{name} is not a delta checkpoint (no meta.mona_mm_delta); load it as a '
                         f'full checkpoint instead.')
    record = delta['meta'][DELTA_KEY]
    frozen = frozen_backbone_keys(model)
    base = _load_base(model, record, base, logger)
    result = model.load_state_dict(delta['state_dict'], strict=False)
    missing = sorted(set(result.missing_keys) - frozen)
    if result.unexpected_keys or missing:
        raise ValueError(f'The delta {name} does not fit this model: unexpected '
                         f'{result.unexpected_keys[:5]}, missing {missing[:5]}.')
    print_log(f'Loaded delta ({len(delta["state_dict"])} tensors) on base {base}', logger=logger)
    return record
