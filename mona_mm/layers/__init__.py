"""The adapter layers: pure PyTorch modules, with no OpenMMLab import and no knowledge of any
backbone. The tuning methods (:mod:`mona_mm.tuning`) place them into backbones."""
from .bottleneck import BottleneckAdapter
from .lora import LoRALinear
from .lorand import LoRandLayer, LoRandLinear
from .merge import merge_adapters
from .mona import MergedMonaOp, MonaLayer, MonaOp

__all__ = [
    'BottleneckAdapter', 'LoRALinear', 'LoRandLayer', 'LoRandLinear', 'MergedMonaOp', 'MonaLayer',
    'MonaOp', 'merge_adapters'
]
