"""Object detection (mmdet): our dataset types in mmdet's registry (``import mona_mm`` loads it;
``custom_imports=dict(imports=['mona_mm.det'])`` names it alone)."""
from .coco import CheckedCocoDataset
from .datasets import CheckedVOCDataset
from .necks import SimpleFeaturePyramid

__all__ = ['CheckedCocoDataset', 'CheckedVOCDataset', 'SimpleFeaturePyramid']
