"""The tiny segmentation sets: the on-disk layouts of ADE20K, ISPRS Potsdam and LoveDA, as mmseg's
``ADE20KDataset``, ``PotsdamDataset`` and ``LoveDADataset`` read them.

The label map gives the background one "stuff" class and every shape the class of its kind; a
one-pixel ring around each shape is label 0, the value all three datasets reserve for unlabelled
pixels (ADE20K "other", Potsdam's eroded boundaries, LoveDA "no-data"). The datasets read the maps
with ``reduce_zero_label=True``: 0 becomes the ignore index 255 and label ``k`` class ``k - 1``.

Layouts under the data root:

* ``ade20k`` (ADEChallengeData2016): ``images/{training,validation}/ADE_{train,val}_%08d.jpg``,
  ``annotations/{training,validation}/ADE_{train,val}_%08d.png``, labels 0-150.
* ``potsdam`` (after mmseg's ``tools/dataset_converters/potsdam.py``):
  ``img_dir/{train,val}/{tile}_{x0}_{y0}_{x1}_{y1}.png``, ``ann_dir/{train,val}/`` with the same
  names, labels 0-6.
* ``loveda`` (after mmseg's ``tools/dataset_converters/loveda.py``): ``img_dir/{train,val}/N.png``,
  ``ann_dir/{train,val}/N.png``, labels 0-7.

Images are 3-channel JPEG or PNG, label maps single-channel 8-bit PNG.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from .scenes import SHAPES, SceneObject, check_sizes, draw_scene, save_image, shapes_look


@dataclass(frozen=True)
class SegLayout:
    """How one dataset lays out its files and labels.

    Attributes:
        splits: ``(split, image folder, label folder)`` per split, relative to the data root.
        img_suffix: Image file extension (label maps are always ``.png``).
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


_IMG_ANN_DIRS = (('train', 'img_dir/train', 'ann_dir/train'), ('val', 'img_dir/val', 'ann_dir/val'))
SEG_LAYOUTS: Dict[str, SegLayout] = {
    'ade20k': SegLayout(
        splits=(('train', 'images/training', 'annotations/training'),
                ('val', 'images/validation', 'annotations/validation')),
        img_suffix='.jpg', name=_ade_name, num_classes=150),
    'potsdam': SegLayout(splits=_IMG_ANN_DIRS, img_suffix='.png', name=_potsdam_name,
                         num_classes=6),
    'loveda': SegLayout(splits=_IMG_ANN_DIRS, img_suffix='.png', name=_loveda_name,
                        num_classes=7),
}


def shape_labels(layout: SegLayout) -> Dict[str, int]:
    """Label value of each shape drawn in ``layout`` (before ``reduce_zero_label``): as many
    shapes as the dataset has classes after the background (ADE20K, LoveDA: all six; Potsdam:
    five)."""
    room = layout.num_classes - layout.background
    return {shape: layout.background + 1 + i for i, shape in enumerate(list(SHAPES)[:room])}


def _label_map(size: int, objects: List[SceneObject], values: Sequence[int],
               background: int) -> np.ndarray:
    """The (size, size) uint8 label map of one scene: each object's painted pixels carry its
    value, the one-pixel ring outside each object 0 (unlabelled), the rest the background."""
    label = np.full((size, size), background, dtype=np.uint8)
    ring = np.zeros((size, size), dtype=bool)
    for obj in objects:
        mask = mask_utils.decode(obj.rle)
        label[mask.astype(bool)] = values[obj.label]
        ring |= (cv2.dilate(mask, np.ones((3, 3), np.uint8)) - mask).astype(bool)
    label[ring] = 0  # objects are more than 2 px apart, so no ring covers another object
    return label


def make_synthetic_seg(out_dir: str,
                       dataset: str = 'ade20k',
                       num_train: int = 16,
                       num_val: int = 8,
                       image_size: int = 128,
                       seed: int = 0,
                       max_objects: int = 3) -> Dict[str, object]:
    """Write a tiny semantic-segmentation set in a real dataset's layout.

    Equal arguments give byte-identical files; each split has its own random stream.

    Args:
        out_dir: Data root; created if missing. Files of the same names are overwritten.
        dataset: ``'ade20k'``, ``'potsdam'`` or ``'loveda'`` (see :data:`SEG_LAYOUTS`).
        num_train: Number of training images.
        num_val: Number of validation images.
        image_size: Side of the square images in pixels.
        seed: Seed of the random streams.
        max_objects: Most shapes per image.

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
    check_sizes(image_size, max_objects, num_train, num_val)
    layout = SEG_LAYOUTS[dataset]
    labels = shape_labels(layout)
    look, values = shapes_look(list(labels)), list(labels.values())
    root = osp.abspath(out_dir)
    result: Dict[str, object] = dict(
        data_root=root, dataset=dataset, img_suffix=layout.img_suffix, shape_labels=labels,
        background_label=layout.background, num_classes=layout.num_classes)
    for split_idx, ((split, img_rel, ann_rel), num) in enumerate(
            zip(layout.splits, (num_train, num_val))):
        rng = np.random.default_rng([seed, split_idx])
        img_dir, ann_dir = osp.join(root, img_rel), osp.join(root, ann_rel)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        counts = np.zeros(256, dtype=np.int64)
        for idx in range(num):
            img, objects = draw_scene(rng, look, image_size, max_objects)
            label = _label_map(image_size, objects, values, layout.background)
            counts += np.bincount(label.ravel(), minlength=256)
            stem = layout.name(split_idx, idx, image_size)
            save_image(osp.join(img_dir, stem + layout.img_suffix), img)
            save_image(osp.join(ann_dir, stem + '.png'), label)
        result.update({
            f'{split}_img_dir': img_dir,
            f'{split}_ann_dir': ann_dir,
            f'num_{split}_images': num,
            f'{split}_label_counts': {v: int(c) for v, c in enumerate(counts) if c},
        })
    return result
