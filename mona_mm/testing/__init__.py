"""Tiny generated datasets in the real on-disk formats, for tests, quick starts and CI.

Opt-in, like ``mmdet.testing``: ``import mona_mm`` does not import this package. One scene
generator (:mod:`.scenes`) draws every set; one small writer per format lays it out:

* :func:`make_synthetic_coco`: COCO 2017 instance segmentation (mmdet ``CocoDataset``);
* :func:`make_synthetic_voc`: VOCdevkit 2007 + 2012 detection (mmdet ``VOCDataset``);
* :func:`make_synthetic_seg`: ADE20K, Potsdam and LoveDA segmentation layouts (mmseg);
* :func:`make_synthetic_dota`: DOTA-v1.0 and STAR split layouts (mmrotate).

Their command line is ``tools/misc/make_tiny_data.py``.
"""
from .coco import DEFAULT_CLASSES, make_synthetic_coco
from .dota import DOTA_DEFAULT_CLASSES, STAR_DEFAULT_CLASSES, make_synthetic_dota
from .seg import SEG_LAYOUTS, make_synthetic_seg
from .voc import DEFAULT_VOC_CLASSES, VOC_CLASSES, make_synthetic_voc

__all__ = [
    'DEFAULT_CLASSES', 'make_synthetic_coco', 'DOTA_DEFAULT_CLASSES', 'STAR_DEFAULT_CLASSES',
    'make_synthetic_dota', 'SEG_LAYOUTS', 'make_synthetic_seg', 'DEFAULT_VOC_CLASSES',
    'VOC_CLASSES', 'make_synthetic_voc'
]
