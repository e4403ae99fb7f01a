"""Semantic segmentation (mmseg): our dataset types in mmseg's registry (``import mona_mm`` loads
it when mmseg is installed; ``custom_imports=dict(imports=['mona_mm.seg'])`` names it alone)."""
from .datasets import CheckedADE20KDataset, CheckedLoveDADataset, CheckedPotsdamDataset

__all__ = ['CheckedADE20KDataset', 'CheckedLoveDADataset', 'CheckedPotsdamDataset']
