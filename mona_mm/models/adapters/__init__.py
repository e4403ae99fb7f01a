from .bottleneck import BottleneckAdapter
from .lora import LoRALinear
from .lorand import LoRand, LoRandLinear
from .mona import MergedMonaOp, Mona, MonaOp

__all__ = ['BottleneckAdapter', 'LoRALinear', 'LoRand', 'LoRandLinear', 'MergedMonaOp', 'Mona', 'MonaOp']
