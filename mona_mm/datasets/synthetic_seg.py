"""Tiny, deterministic semantic-segmentation sets in the on-disk layouts of ADE20K, ISPRS Potsdam
and LoveDA, as mmseg's ``ADE20KDataset``, ``PotsdamDataset`` and ``LoveDADataset`` read them.

The scenes are those of :mod:`mona_mm.datasets.synthetic_coco` (its scene drawing is reused, not
copied): a mildly textured, low-saturation background with one to a few non-overlapping filled
shapes, each class with its own shape and its own saturated colour. The label map gives the
background one "stuff" class and every shape the class of its kind; a one-pixel ring around each
shape is label 0, the value all three datasets reserve for unlabelled pixels (ADE20K "other",
Potsdam's eroded boundaries, LoveDA "no-data"). The datasets read the maps with
``reduce_zero_label=True``: 0 becomes the ignore index 255 and label ``k`` becomes class ``k - 1``.

Layouts (``data_root`` is ``out_dir``):

* ``ade20k`` (ADEChallengeData2016): ``images/{training,validation}/ADE_{train,val}_%08d.jpg``,
  ``annotations/{training,validation}/ADE_{train,val}_%08d.png``, labels 0-150.
* ``potsdam`` (after mmseg's ``tools/dataset_converters/potsdam.py``):
  ``img_dir/{train,val}/{tile}_{x0}_{y0}_{x1}_{y1}.png``, ``ann_dir/{train,val}/...png`` with
  the same names, labels 0-6.
* ``loveda`` (after mmseg's ``tools/dataset_converters/loveda.py``): ``img_dir/{train,val}/N.png``,
  ``ann_dir/{train,val}/N.png``, labels 0-7.

Images are RGB (written as 3-channel JPEG or PNG), label maps single-channel 8-bit PNG. Output
is byte-identical for equal arguments, and the splits use independent random streams.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from .synthetic_coco import SHAPES, _make_scene

_JPEG_QUALITY = 95


@dataclass(frozen=True)
class SegLayout:
    """How one dataset lays out its files and labels.

    Attributes:
        splits: ``(split, image folder, label folder)`` per split, relative to the data root.
        img_suffix: Image file extension (the label maps are always ``.png``).
        name: ``name(split_index, image_index, image_size) -> file stem``.
        num_classes: Classes after ``reduce_zero_label`` (label values run 0..num_classes).
        background: Label value of the background ("stuff") class; the shapes take the values
            after it, in ``SHAPES`` order, as far as the classes go.
    """

    splits: Tuple[Tuple[str, str, str], ...]
    img_suffix: str
    name: Callable[[int, int, int], str]
    num_classes: int
    background: int = 1


def _ade_name(split_idx: int, idx: int, size: int) -> str:
    return f'ADE_{("train", "val")[split_idx]}_{idx + 1:08d}'


def _potsdam_name(split_idx: int, idx: int, size: int) -> str:
    # the converter names patches {tile}_{x0}_{y0}_{x1}_{y1} (x1, y1 exclusive); training and
    # validation come from different tiles (2_10 is a training tile, 2_13 a validation one)
    tile = ('2_10', '2_13')[split_idx]
    x0, y0 = (idx % 8) * size, (idx // 8) * size
    return f'{tile}_{x0}_{y0}_{x0 + size}_{y0 + size}'


def _loveda_name(split_idx: int, idx: int, size: int) -> str:
    # LoveDA numbers its images across splits (train 0..2521, val 2522..4190)
    return str(idx + (0, 2522)[split_idx])


SEG_LAYOUTS: Dict[str, SegLayout] = {
    'ade20k': SegLayout(
        splits=(('train', 'images/training', 'annotations/training'),
                ('val', 'images/validation', 'annotations/validation')),
        img_suffix='.jpg',
        name=_ade_name,
        num_classes=150),
    'potsdam': SegLayout(
        splits=(('train', 'img_dir/train', 'ann_dir/train'), ('val', 'img_dir/val', 'ann_dir/val')),
        img_suffix='.png',
        name=_potsdam_name,
        num_classes=6),
    'loveda': SegLayout(
        splits=(('train', 'img_dir/train', 'ann_dir/train'), ('val', 'img_dir/val', 'ann_dir/val')),
        img_suffix='.png',
        name=_loveda_name,
        num_classes=7),
}


def shape_labels(layout: SegLayout) -> Dict[str, int]:
    """Label value of each shape drawn in ``layout`` (before ``reduce_zero_label``).

    Args:
        layout: One of :data:`SEG_LAYOUTS`.

    Returns:
        dict: Shape name -> label value, for as many shapes as the dataset has classes after the
        background (ADE20K and LoveDA: all six shapes; Potsdam: five).
    """
    room = layout.num_classes - layout.background
    return {shape: layout.background + 1 + i for i, shape in enumerate(list(SHAPES)[:room])}


def _label_map(size: int, objects: List[dict], values: Sequence[int],
               background: int) -> np.ndarray:
    """Rasterise the objects of one scene into a label map (H, W) uint8.

    Each object's pixels are exactly those the image was painted through (the same pycocotools
    mask); the one-pixel ring outside each object is 0 (unlabelled).
    """
    label = np.full((size, size), background, dtype=np.uint8)
    ring = np.zeros((size, size), dtype=bool)
    kernel = np.ones((3, 3), np.uint8)
    for obj in objects:
        mask = mask_utils.decode(obj['rle'])
        label[mask.astype(bool)] = values[obj['label']]
        ring |= (cv2.dilate(mask, kernel) - mask).astype(bool)
    label[ring] = 0  # objects are >= 2 px apart, so a ring never covers another object
    return label


def make_synthetic_seg(out_dir: str,
                       dataset: str = 'ade20k',
                       num_train: int = 16,
                       num_val: int = 8,
                       image_size: int = 128,
                       seed: int = 0,
                       max_objects: int = 3) -> Dict[str, object]:
    """Generate a tiny synthetic semantic-segmentation set in a real dataset's layout.

    Args:
        out_dir: Data root; created if missing. Files with the same names are overwritten,
            others are left alone.
        dataset: ``'ade20k'``, ``'potsdam'`` or ``'loveda'`` (see :data:`SEG_LAYOUTS`).
        num_train: Number of training images.
        num_val: Number of validation images.
        image_size: Side of the square images in pixels.
        seed: Seed of the ``numpy.random.Generator`` streams.
        max_objects: Maximum number of shapes per image (at least one).

    Returns:
        dict: ``data_root`` (absolute), ``dataset``, ``img_suffix``, ``shape_labels`` (shape ->
        label value), ``background_label``, ``num_classes``, and per split ``{split}_img_dir``,
        ``{split}_ann_dir`` (absolute), ``num_{split}_images`` and ``{split}_label_counts``
        (label value -> number of pixels over the split).

    Raises:
        ValueError: An unknown dataset, or a size or count out of range.
    """
    if dataset not in SEG_LAYOUTS:
        raise ValueError(f'Unknown dataset {dataset!r}; valid: {sorted(SEG_LAYOUTS)}')
    if image_size < 16 or max_objects < 1 or min(num_train, num_val) < 0:
        raise ValueError('need image_size >= 16, max_objects >= 1 and non-negative image counts')
    layout = SEG_LAYOUTS[dataset]
    labels = shape_labels(layout)
    shapes, values = list(labels), list(labels.values())
    root = osp.abspath(out_dir)
    result: Dict[str, object] = dict(
        data_root=root,
        dataset=dataset,
        img_suffix=layout.img_suffix,
        shape_labels=labels,
        background_label=layout.background,
        num_classes=layout.num_classes)
    for split_idx, ((split, img_rel, ann_rel), num) in enumerate(
            zip(layout.splits, (num_train, num_val))):
        rng = np.random.default_rng([seed, split_idx])
        img_dir, ann_dir = osp.join(root, img_rel), osp.join(root, ann_rel)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        counts = np.zeros(256, dtype=np.int64)
        for idx in range(num):
            img, objects = _make_scene(rng, image_size, shapes, max_objects)
            label = _label_map(image_size, objects, values, layout.background)
            counts += np.bincount(label.ravel(), minlength=256)
            stem = layout.name(split_idx, idx, image_size)
            params = [int(cv2.IMWRITE_JPEG_QUALITY), _JPEG_QUALITY] \
                if layout.img_suffix == '.jpg' else []
            cv2.imwrite(osp.join(img_dir, stem + layout.img_suffix), img, params)
            cv2.imwrite(osp.join(ann_dir, stem + '.png'), label)
        result.update({
            f'{split}_img_dir': img_dir,
            f'{split}_ann_dir': ann_dir,
            f'num_{split}_images': num,
            f'{split}_label_counts': {v: int(c) for v, c in enumerate(counts) if c},
        })
    return result
