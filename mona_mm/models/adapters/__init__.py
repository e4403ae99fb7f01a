from .bottleneck import BottleneckAdapter
from .lora import LoRALinear
from .lorand import LoRand, LoRandLinear
from .mona import Mona, MonaOp

__all__ = ['BottleneckAdapter', 'LoRALinear', 'LoRand', 'LoRandLinear', 'Mona', 'MonaOp']
