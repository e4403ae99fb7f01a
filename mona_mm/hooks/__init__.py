from .checkpoint_hook import SafeCheckpointHook
from .cuda_graph_hook import CudaGraphHook, capture_backbone
from .delta_tuning_hook import DeltaTuningHook, frozen_fingerprints, verify_trainable
from .divergence_hook import DivergenceHook, TrainingDiverged
from .rng_state_hook import RNGStateHook

__all__ = ['CudaGraphHook', 'DeltaTuningHook', 'DivergenceHook', 'RNGStateHook',
           'SafeCheckpointHook', 'TrainingDiverged', 'capture_backbone', 'frozen_fingerprints',
           'verify_trainable']
