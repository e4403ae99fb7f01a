"""Fold linear adapters into plain layers for deployment.

Mona's MonaOp becomes one depthwise 7x7 conv and one 1x1 conv (MONA_SPEC.md section 1), LoRA's
update is added into the ``qkv`` weight (the layer becomes the pretrained ``nn.Linear`` layout),
and each LoRand layer becomes one ``nn.Linear``. Adapter and AdaptFormer are non-linear
(GELU between their projections) and stay as they are. Outputs match the unmerged model up to
floating-point rounding (tested to 1e-5).
"""
from typing import List

import torch.nn as nn

from .adapters import LoRALinear, LoRandLinear, MonaOp

MERGEABLE = (MonaOp, LoRALinear, LoRandLinear)


def merge_adapters(model: nn.Module) -> List[str]:
    """Replace every mergeable module of ``model`` by its merged form, in place.

    Returns:
        The qualified names of the merged modules.
    """
    merged = []
    for name, module in list(model.named_modules()):
        if isinstance(module, MERGEABLE):
            parent_name, _, child = name.rpartition('.')
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.merge())
            merged.append(name)
    return merged
