"""Save and restore the random number generators with each checkpoint.

mmengine re-seeds a resumed run with its original seed, so after ``--resume`` dropout, drop-path
and data augmentation draw different numbers than the uninterrupted run would have: the run
continues, but not the same run. With this hook the generator states of Python's ``random``,
numpy and torch (CPU, and CUDA when present) go into every checkpoint and come back on resume,
so an interrupted run reaches the same weights as an uninterrupted one (with deterministic
kernels and ``num_workers=0``; worker processes re-seed from the sampler's seed).

In a multi-process run only rank 0 writes the checkpoint (mmengine's ``save_checkpoint`` runs on
the main process only): at the end of each iteration or epoch after which the checkpoint hook will
save, before it saves, every rank's states are gathered (one collective), and rank 0 writes them
all; on resume each rank takes its own. A run resumed with another number of processes takes rank
0's states on every rank, with a warning.
Usage: ``custom_hooks = [dict(type='RNGStateHook')]``.
"""
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from .checkpoint_hook import checkpoint_due

_KEY = 'rng_state'


def _states() -> dict:
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Put the RNG states of every rank into checkpoints and restore them when one is loaded to
    resume."""

    priority = 'LOW'  # its after_train_* run before the checkpoint hook's (VERY_LOW)

    def __init__(self) -> None:
        self._gathered = None  # (iteration, the states of every rank) when a save comes next

    def _gather_if_saving(self, runner, epoch_end: bool) -> None:
        if get_world_size() > 1 and checkpoint_due(runner, epoch_end):
            # a collective: every rank reaches this point
            self._gathered = (runner.iter, all_gather_object(_states()))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._gather_if_saving(runner, epoch_end=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_saving(runner, epoch_end=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if get_world_size() > 1 and self._gathered is not None:
            ranks = self._gathered[1]  # the latest gathered (a best checkpoint: after validation)
        else:
            ranks = [_states()]
        checkpoint.setdefault('meta', {})[_KEY] = dict(ranks=ranks)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get('meta', {}).get(_KEY) if isinstance(checkpoint, dict) else None
        if saved is None:
            runner.logger.warning('RNGStateHook: the checkpoint holds no RNG state; the resumed '
                                  'run draws different random numbers than the original.')
            return
        ranks = saved.get('ranks', [saved])  # checkpoints of before: one state, rank 0's
        rank, world_size = get_rank(), get_world_size()
        if len(ranks) != world_size:
            runner.logger.warning(
                f'RNGStateHook: the checkpoint holds the RNG states of {len(ranks)} process(es), '
                f'this run has {world_size}; every process takes rank 0\'s, so the resumed run '
                f'draws other random numbers than the original.')
            rank = 0
        state = ranks[rank]
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
