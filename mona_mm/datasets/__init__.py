"""Datasets and dataset utilities of mona_mm.

Importing this package (done by ``import mona_mm``) registers the checked dataset classes of
:mod:`.checks` (``CheckedADE20KDataset``, ``CheckedPotsdamDataset``, ``CheckedLoveDADataset`` in
mmseg's registry, ``CheckedVOCDataset`` in mmdet's) and ``STARDataset`` in mmrotate's.
"""
from .checks import (CheckedADE20KDataset, CheckedLoveDADataset, CheckedPotsdamDataset,
                     CheckedVOCDataset, check_seg_pair)
from .star import STAR_CLASSES, STARDataset
from .synthetic_coco import DEFAULT_CLASSES, SHAPES, make_synthetic_coco
from .synthetic_seg import SEG_LAYOUTS, make_synthetic_seg
from .synthetic_dota import DOTA_DEFAULT_CLASSES, STAR_DEFAULT_CLASSES, make_synthetic_dota
from .synthetic_voc import DEFAULT_VOC_CLASSES, make_synthetic_voc

__all__ = [
    'DEFAULT_CLASSES', 'SHAPES', 'make_synthetic_coco', 'SEG_LAYOUTS', 'make_synthetic_seg',
    'DEFAULT_VOC_CLASSES', 'make_synthetic_voc', 'CheckedADE20KDataset', 'CheckedPotsdamDataset',
    'CheckedLoveDADataset', 'CheckedVOCDataset', 'check_seg_pair', 'STARDataset', 'STAR_CLASSES',
    'DOTA_DEFAULT_CLASSES', 'STAR_DEFAULT_CLASSES', 'make_synthetic_dota'
]
