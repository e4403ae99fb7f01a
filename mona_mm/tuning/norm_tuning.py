"""NormTuning: train the backbone's LayerNorms only."""
from typing import Set

from .base import TUNING_METHODS, TunableBackbone, TuningMethod


@TUNING_METHODS.register_module()
class NormTuning(TuningMethod):
    """Every backbone parameter whose name contains ``norm`` (on Swin: norm1, norm2,
    patch_embed.norm, downsample.norm and the output norms).

    Args:
        include_out_norms (bool): The official substring rule also takes the output norms
            ``norm{i}``, which ImageNet checkpoints do not hold (they start at identity). True
            keeps that, as in the paper's numbers; False trains only the pretrained norms.
            Default: True.
    """

    def __init__(self, include_out_norms: bool = True) -> None:
        self.include_out_norms = include_out_norms

    def trainable_base(self, backbone: TunableBackbone) -> Set[str]:
        out_norms = backbone.out_norm_names()
        return {
            n for n in backbone.base_param_names
            if 'norm' in n and (self.include_out_norms or n not in out_norms)
        }
