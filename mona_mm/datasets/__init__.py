"""Datasets and dataset utilities of mona_mm."""
from .synthetic_coco import DEFAULT_CLASSES, SHAPES, make_synthetic_coco

__all__ = ['DEFAULT_CLASSES', 'SHAPES', 'make_synthetic_coco']
