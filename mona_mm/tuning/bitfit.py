"""BitFit (Zaken et al., ACL 2022): train the backbone's biases only."""
from typing import Set

from .base import TUNING_METHODS, TunableBackbone, TuningMethod


@TUNING_METHODS.register_module()
class BitFit(TuningMethod):
    """Every backbone parameter whose name contains ``bias``.

    Args:
        include_bias_tables (bool): The official code selects by the substring ``bias``, which
            also takes parameters that are not biases of a layer, such as Swin's
            ``relative_position_bias_table`` (63,544 of the 201,656 parameters on Swin-B). True
            keeps that behaviour, as in the paper's numbers; False trains true biases only
            (parameters named ``bias``). Default: True.
    """

    def __init__(self, include_bias_tables: bool = True) -> None:
        self.include_bias_tables = include_bias_tables

    def trainable_base(self, backbone: TunableBackbone) -> Set[str]:
        return {
            n for n in backbone.base_param_names if 'bias' in n and (
                self.include_bias_tables or n.rpartition('.')[2] == 'bias')
        }
