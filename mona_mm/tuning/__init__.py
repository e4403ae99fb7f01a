"""Delta-tuning methods, one file each, registered in ``TUNING_METHODS``."""
from .adapter import Adapter
from .adaptformer import AdaptFormer
from .base import TUNING_METHODS, TuningMethod, available_methods, build_tuning_methods
from .bitfit import BitFit
from .fixed import Fixed
from .full import Full
from .lora import LoRA
from .lorand import LoRand
from .mona import Mona
from .norm_tuning import NormTuning
from .partial import Partial

__all__ = [
    'TUNING_METHODS', 'TuningMethod', 'available_methods', 'build_tuning_methods', 'Adapter',
    'AdaptFormer', 'BitFit', 'Fixed', 'Full', 'LoRA', 'LoRand', 'Mona', 'NormTuning', 'Partial'
]
