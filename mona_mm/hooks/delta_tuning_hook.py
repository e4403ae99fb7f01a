"""A hook that verifies, reports and protects delta-tuning.

Freezing itself happens in the model (``SwinMona``, ``ViTMona`` freeze at construction, after
``init_weights`` and in ``train()``); this hook only checks that it held:

* before training: every tuned backbone trains exactly its intended parameters, neck and heads
  train fully, and the optimizer holds state for no frozen parameter; otherwise it fails with a
  message naming the offending parameters. It logs the trainable/total table by part.
* after training (``check_frozen_unchanged``): every frozen backbone tensor is bit-identical to
  what it was before training.

Usage in a config: ``custom_hooks = [dict(type='DeltaTuningHook')]``.
"""
import hashlib
from typing import Dict, List

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mona_mm.utils.params import count_by_part, format_param_table, tuned_backbones


def _fingerprint(t: torch.Tensor) -> str:
    data = t.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@HOOKS.register_module()
class DeltaTuningHook(Hook):
    """Check the trainable set before training and the frozen weights after it.

    Args:
        check_frozen_unchanged (bool): Fingerprint the frozen backbone tensors before training
            and fail after training if any changed. Default: True.
        require_trainable_outside_backbone (bool): Fail if a neck/head parameter is frozen
            (the paper trains them fully for every method). Default: True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_frozen_unchanged: bool = True,
                 require_trainable_outside_backbone: bool = True) -> None:
        self.check_frozen_unchanged = check_frozen_unchanged
        self.require_trainable_outside_backbone = require_trainable_outside_backbone
        self._fingerprints: Dict[str, str] = {}

    @staticmethod
    def _model(runner) -> torch.nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        backbones = tuned_backbones(model)
        if not backbones:
            raise RuntimeError('DeltaTuningHook: the model has no tuned backbone (SwinMona, '
                               'ViTMona); remove the hook or use type="SwinMona" or '
                               'type="ViTMona" as the backbone.')
        problems = verify_trainable(model, self.require_trainable_outside_backbone)
        if problems:
            raise RuntimeError('DeltaTuningHook: the trainable parameters are not the intended '
                               'ones:\n  ' + '\n  '.join(problems[:30]))
        problems = _optimizer_problems(runner, model)
        if problems:
            raise RuntimeError('DeltaTuningHook: the optimizer updates frozen parameters:\n  ' +
                               '\n  '.join(problems[:30]))
        for prefix, backbone in backbones.items():
            methods = ', '.join(repr(m) for m in backbone.tuning_methods) or 'none'
            runner.logger.info(f'Delta-tuning of {prefix or "model"}: {methods}')
        runner.logger.info('Parameters by part:\n' + format_param_table(count_by_part(model)))
        if self.check_frozen_unchanged:
            self._fingerprints = frozen_fingerprints(model)

    def after_train(self, runner) -> None:
        if not self.check_frozen_unchanged:
            return
        now = frozen_fingerprints(self._model(runner))
        changed = sorted(k for k, v in self._fingerprints.items() if now.get(k) != v)
        if changed:
            raise RuntimeError(f'DeltaTuningHook: {len(changed)} frozen backbone tensors changed '
                               f'during training, e.g. {changed[:10]}')
        if now:
            runner.logger.info(f'DeltaTuningHook: all {len(now)} frozen backbone tensors are '
                               f'unchanged after training.')
        else:
            runner.logger.info('DeltaTuningHook: no backbone tensor is frozen (full '
                               'fine-tuning), so none is checked for changes.')


def verify_trainable(model: torch.nn.Module,
                     require_trainable_outside_backbone: bool = True) -> List[str]:
    """Differences between intended and actual ``requires_grad`` (empty when all is right)."""
    problems = []
    backbones = tuned_backbones(model)
    inside = set()
    for prefix, backbone in backbones.items():
        pre = f'{prefix}.' if prefix else ''
        for name, param in backbone.named_parameters():
            inside.add(pre + name)
            intended = name in backbone.trainable_param_names
            if param.requires_grad != intended:
                state = 'trainable' if param.requires_grad else 'frozen'
                problems.append(f'{pre + name} is {state} but should not be')
    if require_trainable_outside_backbone:
        problems += [f'{n} (outside the backbone) is frozen; neck and heads train fully'
                     for n, p in model.named_parameters() if n not in inside and
                     not p.requires_grad]
    return problems


def frozen_fingerprints(model: torch.nn.Module) -> Dict[str, str]:
    """Fingerprints of every frozen parameter of the tuned backbones."""
    out = {}
    for prefix, backbone in tuned_backbones(model).items():
        for name, param in backbone.named_parameters():
            if not param.requires_grad:
                out[f'{prefix}.{name}'] = _fingerprint(param)
    return out


def _optimizer_problems(runner, model: torch.nn.Module) -> List[str]:
    optim_wrapper = getattr(runner, 'optim_wrapper', None)
    optimizer = getattr(optim_wrapper, 'optimizer', None)
    if optimizer is None or not hasattr(optimizer, 'state'):
        return []
    names = {id(p): n for n, p in model.named_parameters()}
    return [f'{names.get(id(p), "?")} has optimizer state but is frozen'
            for p in optimizer.state if not p.requires_grad]
