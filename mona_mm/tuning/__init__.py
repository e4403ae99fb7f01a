"""Delta-tuning methods, one file each, registered in ``TUNING_METHODS``."""
from .base import TUNING_METHODS, TuningMethod, available_methods, build_tuning_methods
from .fixed import Fixed
from .full import Full
from .mona import Mona

__all__ = [
    'TUNING_METHODS', 'TuningMethod', 'available_methods', 'build_tuning_methods', 'Fixed', 'Full',
    'Mona'
]
