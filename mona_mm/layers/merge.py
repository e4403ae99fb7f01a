"""Fold the linear adapters of a model into plain layers for deployment.

Each mergeable layer knows its own merged form: it has a ``merge()`` method returning an
equivalent plain module (``MonaOp`` -> one depthwise 7x7 and one 1x1 conv, docs/spec.md section 1;
``LoRALinear`` -> the pretrained ``nn.Linear`` layout with the update added; ``LoRandLinear`` ->
one ``nn.Linear``). Adapter and AdaptFormer are non-linear (GELU between their projections) and
have none, so they stay as they are. Outputs match the unmerged model up to floating-point
rounding (tested to 1e-5).
"""
from typing import List

import torch.nn as nn


def merge_adapters(model: nn.Module) -> List[str]:
    """Replace every module of ``model`` that has a ``merge()`` method by its result, in place.

    Returns:
        The qualified names of the merged modules.
    """
    merged = []
    for name, module in list(model.named_modules()):
        if name and callable(getattr(module, 'merge', None)):
            parent_name, _, child = name.rpartition('.')
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.merge())
            merged.append(name)
    return merged
