"""Stop training the moment it diverges, before a checkpoint of the diverged state is written.

Without it, a run whose loss becomes NaN trains on (every later loss is NaN), evaluates, saves
checkpoints of non-finite weights and exits 0; under ``max_keep_ckpts`` the rotation then deletes
the good checkpoints before them. With it, the iteration whose loss terms or gradients are
non-finite raises :class:`TrainingDiverged`, naming the iteration, the non-finite loss terms and
what to try; the process exits non-zero and every checkpoint saved before stays on disk (the hook
runs before the checkpoint hook in each iteration, and no later save happens).

Cost: no extra forward or backward pass. The loss terms are the scalars the runner already
converts to numbers for its log every iteration; the gradient check is one fused max-norm over
the trainable gradients, queued on the device right before the optimizer step (which reads them
anyway) and read back with the loss.

Under AMP (``AmpOptimWrapper``), the loss scaler skips a step whose gradients overflow and lowers
its scale: that is how dynamic loss scaling works, not divergence, and the weights are untouched.
Only ``max_skipped_steps`` consecutive skipped steps (the scale then fell by 2 ** that many and the
values are still not finite) count as divergence.

Usage in a config (on in all of ours)::

    custom_hooks = [..., dict(type='DivergenceHook')]
    # to let a run go on whatever its loss: dict(type='DivergenceHook', enabled=False), or on the
    # command line --cfg-options custom_hooks.2.enabled=False (its place in our configs' list)
"""
import math
from typing import Dict, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS


class TrainingDiverged(RuntimeError):
    """The loss or the gradients became non-finite; the message says where and what to try."""


def grads_finite(optimizer: torch.optim.Optimizer) -> Optional[torch.Tensor]:
    """A 0-dim bool tensor on the gradients' device: all gradients of ``optimizer`` are finite.

    One fused max-abs norm per device (NaN propagates through it); no host synchronisation.
    None when no parameter has a gradient.
    """
    grads = [p.grad for group in optimizer.param_groups for p in group['params']
             if p.grad is not None]
    if not grads:
        return None
    total_norm = getattr(torch.nn.utils, 'get_total_norm', None)  # torch >= 2.6: fused
    if total_norm is not None:
        norm = total_norm(grads, norm_type=math.inf)
    else:
        norm = torch.stack([g.detach().abs().amax().to(grads[0].device) for g in grads]).amax()
    return torch.isfinite(norm)


def non_finite_losses(outputs, message_hub=None) -> Dict[str, float]:
    """The loss terms of a train step's log variables that are not finite (mmengine's rule:
    a loss term is a key containing 'loss').

    Args:
        outputs: The log variables of the train step (names to 0-dim tensors or numbers).
        message_hub: The runner's; its ``train/<name>`` scalars are the same values, already
            copied to the host by mmengine's ``RuntimeInfoHook`` (read instead of the tensors).
    """
    bad = {}
    for key, value in (outputs or {}).items():
        if 'loss' not in key:
            continue
        logged = message_hub.log_scalars.get(f'train/{key}') if message_hub else None
        if logged is not None:
            value = logged.current()
        elif isinstance(value, torch.Tensor):
            value = value.detach().float().mean().item()
        if isinstance(value, (int, float)) and not math.isfinite(value):
            bad[key] = float(value)
    return bad


@HOOKS.register_module()
class DivergenceHook(Hook):
    """Raise :class:`TrainingDiverged` at the first iteration whose loss or gradients are not
    finite (see the module docstring).

    Args:
        enabled (bool): False turns the check off (the run goes on with non-finite values).
            Default: True.
        check_grads (bool): Also check the gradients before each optimizer step (a finite loss
            can still give non-finite gradients). Default: True.
        max_skipped_steps (int): Under AMP, the number of consecutive steps the loss scaler may
            skip before the run counts as diverged. Default: 20.
    """

    # before CheckpointHook (VERY_LOW) and LoggerHook (BELOW_NORMAL) in every after_train_iter,
    # after RuntimeInfoHook (VERY_HIGH), which has logged the iteration's losses
    priority = 'ABOVE_NORMAL'

    def __init__(self, enabled: bool = True, check_grads: bool = True,
                 max_skipped_steps: int = 20) -> None:
        self.enabled = enabled
        self.check_grads = check_grads
        self.max_skipped_steps = max_skipped_steps
        self._handles: List = []
        self._wrappers: List = []
        self._grads_ok: List[torch.Tensor] = []
        self._steps = 0
        self._skipped = 0
        self._scales: List[float] = []

    # ------------------------------------------------------------------ wiring
    def before_train(self, runner) -> None:
        if not self.enabled:
            runner.logger.warning('DivergenceHook is disabled: a run whose loss becomes NaN or '
                                  'inf trains on and saves checkpoints of the diverged weights.')
            return
        wrapper = runner.optim_wrapper
        self._wrappers = list(wrapper.values()) if isinstance(wrapper, OptimWrapperDict) \
            else [wrapper]
        for w in self._wrappers:
            self._handles.append(w.optimizer.register_step_pre_hook(self._before_step))

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @staticmethod
    def _amp(wrapper) -> bool:
        return getattr(wrapper, 'loss_scaler', None) is not None

    def _before_step(self, optimizer, args, kwargs) -> None:
        # under AMP the scaler calls step() only when the gradients are finite
        self._steps += 1
        if self.check_grads and not any(self._amp(w) for w in self._wrappers):
            ok = grads_finite(optimizer)
            if ok is not None:
                self._grads_ok.append(ok)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._grads_ok = []
        self._steps = 0

    # ------------------------------------------------------------------ the check
    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.enabled:
            return
        losses = non_finite_losses(outputs, runner.message_hub)
        bad_grads = any(not bool(ok) for ok in self._grads_ok)
        amp = [w for w in self._wrappers if self._amp(w)]
        if amp:
            due = sum(bool(w.should_update()) for w in amp)
            # a skipped step: step() not called (most optimizers), or the dynamic scale fell
            # (fused optimizers, whose step() the scaler calls and which skip inside)
            scales = [float(w.loss_scaler.get_scale()) for w in amp]
            fell = any(now < before for now, before in zip(scales, self._scales))
            self._scales = scales
            if due and (self._steps < due or fell):  # the scaler skipped it: not divergence
                self._skipped += 1
                if self._skipped <= self.max_skipped_steps:
                    return
                self._raise(runner, losses, bad_grads, skipped=self._skipped)
            self._skipped = 0
        if losses or bad_grads:
            self._raise(runner, losses, bad_grads)

    def _raise(self, runner, losses: Dict[str, float], bad_grads: bool,
               skipped: int = 0) -> None:
        what = []
        if losses:
            what.append('non-finite loss terms ' +
                        ', '.join(f'{k}={v}' for k, v in sorted(losses.items())))
        if bad_grads:
            what.append('non-finite gradients')
        if skipped:
            what.append(f'the AMP loss scaler skipped {skipped} steps in a row (its scale fell '
                        f'by 2**{skipped})')
        last = runner.message_hub.get_info('last_ckpt')
        lr = ', '.join(sorted({f'{v:g}' for lrs in runner.optim_wrapper.get_lr().values()
                               for v in lrs}))
        message = (
            f'Training diverged at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): '
            f'{"; ".join(what)}. Stopped before any checkpoint of this state was written; the '
            f'newest checkpoint is {last or "none yet"}. Try a lower learning rate (now {lr}: '
            f'optim_wrapper.optimizer.lr), gradient clipping (optim_wrapper.clip_grad='
            f'dict(max_norm=...)) or a longer warm-up; with AMP, a lower initial loss scale '
            f'(optim_wrapper.loss_scale=dict(init_scale=...)) or bf16 (optim_wrapper.dtype='
            f'"bfloat16"). To let the run go on anyway: DivergenceHook(enabled=False).')
        runner.logger.error(message)
        self.after_train(runner)
        raise TrainingDiverged(message)
