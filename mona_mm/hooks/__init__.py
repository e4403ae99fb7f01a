from .delta_tuning_hook import DeltaTuningHook, frozen_fingerprints, verify_trainable
from .rng_state_hook import RNGStateHook

__all__ = ['DeltaTuningHook', 'RNGStateHook', 'frozen_fingerprints', 'verify_trainable']
