"""Backbones that host the tuning methods (registered in mmengine's root ``MODELS``)."""
from mona_mm.layers import merge_adapters

from .backbones import DeltaTunedBackbone, LoadReport, SlotBlock, SwinMona, SwinMonaBlock, ViTMona

__all__ = [
    'DeltaTunedBackbone', 'LoadReport', 'SlotBlock', 'SwinMona', 'SwinMonaBlock', 'ViTMona',
    'merge_adapters'
]
