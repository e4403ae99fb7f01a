"""Save and restore the random number generators with each checkpoint.

mmengine re-seeds a resumed run with its original seed, so after ``--resume`` dropout, drop-path
and data augmentation draw different numbers than the uninterrupted run would have: the run
continues, but not the same run. With this hook the generator states of Python's ``random``,
numpy and torch (CPU, and CUDA when present) go into every checkpoint and come back on resume,
so an interrupted run reaches the same weights as an uninterrupted one (with deterministic
kernels and ``num_workers=0``; worker processes re-seed from the sampler's seed).
Usage: ``custom_hooks = [dict(type='RNGStateHook')]``.
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

_KEY = 'rng_state'


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Put the RNG states into checkpoints and restore them when one is loaded to resume."""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(python=random.getstate(), numpy=np.random.get_state(),
                     torch=torch.get_rng_state())
        if torch.cuda.is_available():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint.setdefault('meta', {})[_KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('meta', {}).get(_KEY)
        if state is None:
            runner.logger.warning('RNGStateHook: the checkpoint holds no RNG state; the resumed '
                                  'run draws different random numbers than the original.')
            return
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
