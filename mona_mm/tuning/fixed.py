"""Fixed: the whole backbone is frozen; only neck and heads train (the paper's lower bound)."""
from .base import TUNING_METHODS, TuningMethod


@TUNING_METHODS.register_module()
class Fixed(TuningMethod):
    """Nothing in the backbone trains."""

    combinable = False
