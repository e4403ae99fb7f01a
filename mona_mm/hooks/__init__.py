from .delta_tuning_hook import DeltaTuningHook, frozen_fingerprints, verify_trainable

__all__ = ['DeltaTuningHook', 'frozen_fingerprints', 'verify_trainable']
