"""A toy model and data for the fault tests that are about the runner, not the model (checkpoint
writes, resume, distributed faults, divergence under AMP), a fault-injection hook, and running a
function in a forked process that may be killed.

The toy config goes through the same code as the real ones (``mona_mm.runner``: registration,
``adapt_to_device``, the gloo process group, ``set_resume``, ``run_train``) with our hooks; only
the model is a linear layer, so a run takes a second instead of a minute.
"""
import os
import signal
import time
import traceback
import uuid
from typing import Callable, Optional, Tuple

import torch
import torch.distributed as dist
import torch.nn as nn
from mmengine.config import Config
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, MODELS

SAMPLES = 8


class _NaNGradient(torch.autograd.Function):
    """Identity forward, NaN gradient backward: a finite loss with non-finite gradients."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * float('nan')


@MODELS.register_module(force=True)
class ToyRegressor(BaseModel):
    """``y = w x``; ``nonfinite_at`` (1-based forward counts) makes the loss inf at those
    iterations, ``nan_grad_at`` makes the gradient NaN while the loss stays finite; ``dropout``
    on the input makes training draw random numbers."""

    def __init__(self, nonfinite_at=(), nan_grad_at=(), dropout: float = 0.) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 1)
        self.nonfinite_at = set(nonfinite_at)
        self.nan_grad_at = set(nan_grad_at)
        self.dropout = dropout
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs
        x = torch.nn.functional.dropout(x.float(), self.dropout, self.training)
        out = self.linear(x)
        if mode != 'loss':
            return out
        self.calls += 1
        if self.calls in self.nan_grad_at:
            out = _NaNGradient.apply(out)
        loss = (out - 1).pow(2).mean()
        if self.calls in self.nonfinite_at:
            loss = loss * float('inf')
        return {'loss': loss}


@DATASETS.register_module(force=True)
class ToyData(torch.utils.data.Dataset):
    """``SAMPLES`` fixed 4-vectors."""

    def __init__(self, **kwargs) -> None:
        self.data = torch.arange(SAMPLES * 4, dtype=torch.float32).reshape(SAMPLES, 4) / 10

    def __len__(self) -> int:
        return SAMPLES

    def __getitem__(self, i):
        return dict(inputs=self.data[i])


@HOOKS.register_module(force=True)
class FaultHook(Hook):
    """Inject a fault: ``signal_at=(rank, iteration, signal)`` sends ``signal`` to this process
    after that (1-based) iteration on that rank; ``kill_in_save=n`` kills the process with
    SIGKILL half-way through writing the ``n``-th checkpoint file (as an OOM kill or a preemption
    would)."""

    priority = 'LOWEST'

    def __init__(self, signal_at: Optional[Tuple[int, int, int]] = None,
                 kill_in_save: Optional[int] = None) -> None:
        self.signal_at = signal_at
        self.kill_in_save = kill_in_save
        self.saves = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.signal_at is None:
            return
        rank, iteration, sig = self.signal_at
        this = dist.get_rank() if dist.is_initialized() else 0
        if this == rank and runner.iter + 1 == iteration:
            os.kill(os.getpid(), sig)

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        self.saves += 1
        if self.saves != self.kill_in_save:
            return

        def put_half_then_die(backend, obj: bytes, filepath) -> None:
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

        LocalBackend.put = put_half_then_die


def toy_config(work_dir: str, max_epochs: int = 3, hooks=(), checkpoint=None,
               optim_wrapper=None, model=None, **extra) -> Config:
    """A config our runner trains like the real ones: our hooks, SafeCheckpointHook every
    epoch keeping one checkpoint, 4 iterations of batch 2 per epoch."""
    ckpt = dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=1)
    ckpt.update(checkpoint or {})
    cfg = dict(
        default_scope='mmdet',
        model=dict(type='ToyRegressor', **(model or {})),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=dict(type='ToyData'),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=optim_wrapper or dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=ckpt, logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='RNGStateHook'), dict(type='DivergenceHook'), *hooks],
        randomness=dict(seed=0),
        env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=60)),
        launcher='none',
        allow_cpu=True,
        log_level='INFO',
        # a logger of its own (mmengine names runs by the second and reuses a name's logger)
        experiment_name=f'toy_{uuid.uuid4().hex}')
    cfg.update(extra)
    return Config(cfg)


def run_forked(fn: Callable[[], None], timeout: float = 120) -> Tuple[Optional[int], Optional[int],
                                                                      str, float]:
    """Run ``fn`` in a forked child (imports already done: fast), which may be killed.

    Returns:
        tuple: ``(exit_code or None, signal or None, the child's error text, seconds)``.
    """
    import tempfile
    fd, report = tempfile.mkstemp(suffix='.txt')
    os.close(fd)
    start = time.time()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            fn()
        except BaseException:
            with open(report, 'w') as f:
                f.write(traceback.format_exc())
            code = 1
        os._exit(code)
    status = None
    while time.time() - start < timeout:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise TimeoutError(f'the child did not finish within {timeout} s')
    with open(report) as f:
        text = f.read()
    os.remove(report)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    return code, sig, text, time.time() - start
