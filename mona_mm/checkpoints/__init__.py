"""Whole-model checkpoints: adapter-only deltas and conversion of official checkpoints."""
from .delta import frozen_backbone_keys, is_delta, load_delta, make_delta
from .official import convert_official_mona

__all__ = ['convert_official_mona', 'frozen_backbone_keys', 'is_delta', 'load_delta',
           'make_delta']
