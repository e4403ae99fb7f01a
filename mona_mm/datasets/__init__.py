"""Datasets and dataset utilities of mona_mm.

Importing this package (done by ``import mona_mm``) registers the checked dataset classes of
:mod:`.checks` (``CheckedADE20KDataset``, ``CheckedPotsdamDataset``, ``CheckedLoveDADataset`` in
mmseg's registry, ``CheckedVOCDataset`` in mmdet's) and ``STARDataset`` in mmrotate's.
"""
from .checks import (CheckedADE20KDataset, CheckedLoveDADataset, CheckedPotsdamDataset,
                     CheckedVOCDataset, check_seg_pair)
from .star import STAR_CLASSES, STARDataset

__all__ = [
    'CheckedADE20KDataset', 'CheckedPotsdamDataset', 'CheckedLoveDADataset', 'CheckedVOCDataset',
    'check_seg_pair', 'STARDataset', 'STAR_CLASSES'
]
