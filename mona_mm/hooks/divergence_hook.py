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

Which checkpoint to go back to: weights can explode for a while before the loss turns
non-finite (a learning rate far too high), and a checkpoint written meanwhile holds finite but
useless weights. So at every iteration or epoch after which a checkpoint is saved, the hook judges
the state being saved: sound when the loss is at most ``loss_ratio`` times the median loss of
the run's first iterations and the largest trainable weight at most ``weight_ratio`` times its
value at the start. When the run diverges, the message names the newest sound checkpoint (and
why newer ones are not), not merely the newest file.

And how to go back to it: mmengine's ``--resume`` restores the optimizer's state with its
learning rate, so a lower ``--cfg-options optim_wrapper.optimizer.lr=...`` was ignored and the
resumed run diverged again. Here a resumed run whose configured learning rate differs from the
resumed run's (read from the checkpoint's config) scales every parameter group's rate and the
schedules' base values by the ratio, and says so.

Usage in a config (on in all of ours)::

    custom_hooks = [..., dict(type='DivergenceHook')]
    # to let a run go on whatever its loss: dict(type='DivergenceHook', enabled=False), or on the
    # command line --cfg-options custom_hooks.2.enabled=False (its place in our configs' list)
"""
import math
import os
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS

from .checkpoint_hook import checkpoint_due


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
        loss_ratio (float): A checkpoint whose loss is above this many times the median of the
            run's first iterations is not sound. Default: 100.
        weight_ratio (float): A checkpoint whose largest trainable weight is above this many
            times the largest at the start is not sound. Default: 1000.
    """

    #: iterations whose losses make the reference of ``loss_ratio``
    FIRST_ITERATIONS = 50

    # before CheckpointHook (VERY_LOW) and LoggerHook (BELOW_NORMAL) in every after_train_iter,
    # after RuntimeInfoHook (VERY_HIGH), which has logged the iteration's losses
    priority = 'ABOVE_NORMAL'

    def __init__(self, enabled: bool = True, check_grads: bool = True,
                 max_skipped_steps: int = 20, loss_ratio: float = 100.,
                 weight_ratio: float = 1000.) -> None:
        self.enabled = enabled
        self.check_grads = check_grads
        self.max_skipped_steps = max_skipped_steps
        self.loss_ratio = loss_ratio
        self.weight_ratio = weight_ratio
        self._first_losses: List[float] = []
        self._weight_start = None
        self._verdict = None  # of the state the checkpoint hook saves at this step
        self._judged: Dict[str, str] = {}  # checkpoint path -> '' (sound) or why not
        self._last_seen = None
        self._resumed_lr = None  # optimizer.lr of the run a resumed checkpoint comes from
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
        self._weight_start = max(self._largest_weight(runner), 1e-3)
        self._last_seen = runner.message_hub.get_info('last_ckpt')
        self._apply_configured_lr(runner)

    # ------------------------------------------------------------------ a new lr on resume
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Note the learning rate of the run the checkpoint comes from (its saved config)."""
        text = checkpoint.get('meta', {}).get('cfg') if isinstance(checkpoint, dict) else None
        self._resumed_lr = None
        if isinstance(text, str):
            try:
                self._resumed_lr = Config.fromstring(text, '.py').optim_wrapper.optimizer.lr
            except Exception:  # an older or foreign config text: nothing to compare
                self._resumed_lr = None

    def _apply_configured_lr(self, runner) -> None:
        configured = runner.cfg.get('optim_wrapper', {}).get('optimizer', {}).get('lr')
        old = self._resumed_lr
        if not getattr(runner, '_resume', False) or not old or not configured or \
                math.isclose(configured, old, rel_tol=1e-9):
            return
        ratio = configured / old
        for wrapper in self._wrappers:
            for group in wrapper.optimizer.param_groups:
                group['lr'] *= ratio
                if 'initial_lr' in group:
                    group['initial_lr'] *= ratio
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        for scheduler in schedulers:
            if getattr(scheduler, 'param_name', 'lr') == 'lr' and hasattr(scheduler,
                                                                           'base_values'):
                scheduler.base_values = [v * ratio for v in scheduler.base_values]
        lrs = ', '.join(sorted({f'{v:g}' for lrs in runner.optim_wrapper.get_lr().values()
                                for v in lrs}))
        runner.logger.warning(
            f'--resume: optim_wrapper.optimizer.lr is {configured:g} here and was {old:g} in '
            f'the resumed run; applied: every parameter group\'s learning rate and the '
            f'schedules are scaled by {ratio:g} (now {lrs}).')

    @staticmethod
    def _largest_weight(runner) -> float:
        params = [p.detach() for p in runner.model.parameters() if p.requires_grad]
        if not params:
            return 0.
        return float(torch.stack([p.abs().amax().float() for p in params]).amax())

    # ------------------------------------------------------------------ soundness of checkpoints
    def _judge(self, runner) -> None:
        """Judge the state the checkpoint hook saves next (module docstring)."""
        if not checkpoint_due(runner, epoch_end=False) and not checkpoint_due(
                runner, epoch_end=True):
            return
        why = []
        loss = runner.message_hub.log_scalars.get('train/loss')
        loss = loss.current() if loss is not None else None
        if self._first_losses and loss is not None:
            ref = sorted(self._first_losses)[len(self._first_losses) // 2]
            if ref > 0 and loss > self.loss_ratio * ref:
                why.append(f'loss {loss:.3g}, {loss / ref:.0f}x the median of the first '
                           f'iterations ({ref:.3g})')
        largest = self._largest_weight(runner)
        if not math.isfinite(largest) or largest > self.weight_ratio * self._weight_start:
            why.append(f'trainable weights up to |w| = {largest:.3g}, '
                       f'{largest / self._weight_start:.0f}x their largest at the start')
        self._verdict = '; '.join(why)

    def _note_saved(self, runner) -> None:
        """Attach the verdict to the checkpoint the hook has saved since."""
        last = runner.message_hub.get_info('last_ckpt')
        if last and last != self._last_seen:
            if self._verdict is not None:
                self._judged[last] = self._verdict
            self._last_seen, self._verdict = last, None

    def _checkpoint_advice(self, runner) -> str:
        self._note_saved(runner)
        last = runner.message_hub.get_info('last_ckpt')
        if not last:
            return 'no checkpoint was written yet'
        if last not in self._judged:
            return f'the newest checkpoint is {last}'
        if not self._judged[last]:
            return f'the newest checkpoint, {last}, is sound (resume from it)'
        sound = [p for p, why in self._judged.items() if not why and os.path.exists(p)]
        return (f'the newest checkpoint, {last}, was written when the run was already '
                f'diverging ({self._judged[last]}); ' + (
                    f'the newest sound one is {sound[-1]} (resume from it)' if sound else
                    'no sound checkpoint of this run is left: start again'))

    def after_train_epoch(self, runner) -> None:
        if self.enabled:
            self._judge(runner)

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
        if self.enabled:
            self._note_saved(runner)

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
        loss = runner.message_hub.log_scalars.get('train/loss')
        if loss is not None and len(self._first_losses) < self.FIRST_ITERATIONS:
            self._first_losses.append(float(loss.current()))
        self._judge(runner)

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
        advice = self._checkpoint_advice(runner)
        lr = ', '.join(sorted({f'{v:g}' for lrs in runner.optim_wrapper.get_lr().values()
                               for v in lrs}))
        message = (
            f'Training diverged at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): '
            f'{"; ".join(what)}. Stopped before any checkpoint of this state was written; '
            f'{advice}. Try a lower learning rate (now {lr}: optim_wrapper.optimizer.lr; '
            f'--resume with --cfg-options optim_wrapper.optimizer.lr=... applies it), '
            f'gradient clipping (optim_wrapper.clip_grad=dict(max_norm=...)) or a longer '
            f'warm-up; with AMP, a lower initial loss scale '
            f'(optim_wrapper.loss_scale=dict(init_scale=...)) or bf16 '
            f'(optim_wrapper.dtype="bfloat16"). To let the run go on anyway: '
            f'DivergenceHook(enabled=False).')
        runner.logger.error(message)
        self.after_train(runner)
        raise TrainingDiverged(message)
