from .checkpoint_hook import SafeCheckpointHook
from .delta_tuning_hook import DeltaTuningHook, frozen_fingerprints, verify_trainable
from .divergence_hook import DivergenceHook, TrainingDiverged
from .rng_state_hook import RNGStateHook

__all__ = ['DeltaTuningHook', 'DivergenceHook', 'RNGStateHook', 'SafeCheckpointHook',
           'TrainingDiverged', 'frozen_fingerprints', 'verify_trainable']
