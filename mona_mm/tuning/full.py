"""Full fine-tuning: every backbone parameter trains (the paper's reference baseline)."""
from typing import Set

from .base import TUNING_METHODS, TunableBackbone, TuningMethod


@TUNING_METHODS.register_module()
class Full(TuningMethod):
    """Every backbone parameter trains, the output norms included."""

    combinable = False

    def trainable_base(self, backbone: TunableBackbone) -> Set[str]:
        return set(backbone.base_param_names)
