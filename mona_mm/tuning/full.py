"""Full fine-tuning: every backbone parameter trains (the paper's reference baseline)."""
from .base import TUNING_METHODS, TuningMethod


@TUNING_METHODS.register_module()
class Full(TuningMethod):
    """Every backbone parameter trains, the output norms included."""

    combinable = False

    def trains_base(self, name: str) -> bool:
        return True
