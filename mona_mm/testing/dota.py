"""The tiny DOTA and STAR sets: oriented detection in the layout of mmrotate's DOTA split tool.

Every object is a filled rectangle at any angle, each class with its own colour and aspect ratio
(:func:`.scenes.rectangles_look`), so class, extent and orientation are plainly visible and a few
CPU iterations of Oriented R-CNN or rotated RetinaNet exercise the whole rotated pipeline (qbox
labels, rbox conversion, rotated anchors and RoIs, rotated NMS, DOTA mAP).

The files are what ``tools/data/dota/split/img_split.py`` writes: per split ``images/*.png`` and
``annfiles/*.txt``, one object per line as ``x1 y1 x2 y2 x3 y3 x4 y4 class difficulty`` (corners
clockwise on screen), and patch names ``<original>__<size>__<x>___<y>`` from which
``DOTAMetric(merge_patches=True)`` recovers the patch offsets. Two layouts:

* DOTA-v1.0 (default): ``trainval/`` and ``val/`` labelled (``val/`` is disjoint from
  ``trainval/`` here, so the tiny evaluation is held out), ``test/images`` unlabelled, as the real
  test set;
* STAR (``star=True``): ``train/`` and ``test/``, both labelled.
"""
import os
import os.path as osp
from typing import Dict, Sequence

import numpy as np

from .scenes import check_sizes, draw_scene, rectangles_look, save_image

# A few plausibly rectangular classes of each label set (valid names in mmrotate's DOTADataset
# and in our STARDataset respectively).
DOTA_DEFAULT_CLASSES = ('large-vehicle', 'ship', 'harbor')
STAR_DEFAULT_CLASSES = ('ship', 'airplane', 'truck')


def format_dota_line(corners: np.ndarray, class_name: str, difficulty: int = 0) -> str:
    """One DOTA label line: ``x1 y1 x2 y2 x3 y3 x4 y4 class difficulty``."""
    coords = ' '.join(f'{v:.2f}' for v in np.asarray(corners).ravel())
    return f'{coords} {class_name} {difficulty}'


def make_synthetic_dota(out_dir: str,
                        num_train: int = 64,
                        num_val: int = 16,
                        num_test: int = 8,
                        image_size: int = 128,
                        seed: int = 0,
                        star: bool = False,
                        classes: Sequence[str] = (),
                        max_objects: int = 3) -> Dict[str, object]:
    """Write a tiny oriented-detection set in mmrotate's split DOTA layout.

    DOTA-v1.0: ``trainval/{images,annfiles}`` (``num_train`` images), ``val/{images,annfiles}``
    (``num_val``) and ``test/images`` (``num_test``, no labels). STAR: ``train/{images,annfiles}``
    (``num_train``) and ``test/{images,annfiles}`` (``num_val``; ``num_test`` is unused). Image
    names are unique across splits. Equal arguments give byte-identical files; each split has its
    own random stream, so one split's size leaves the others' contents unchanged.

    Args:
        out_dir: Data root; created if missing. Files of the same names are overwritten.
        num_train: Images of the training split.
        num_val: Images of the labelled evaluation split.
        num_test: Unlabelled test images (DOTA layout only).
        image_size: Side of the square images (the split tool's patch size) in pixels.
        seed: Seed of the random streams.
        star: Write STAR's layout and class names instead of DOTA-v1.0's.
        classes: Class names in label order; empty for :data:`DOTA_DEFAULT_CLASSES` or
            :data:`STAR_DEFAULT_CLASSES`. No whitespace (the label format is space-separated).
        max_objects: Most objects per image.

    Returns:
        dict: ``data_root`` (absolute), ``classes``, ``layout`` (``'dota'`` or ``'star'``), and
        per split ``{split}_img_dir``, ``{split}_ann_dir`` (None when unlabelled),
        ``num_{split}_images`` and ``num_{split}_instances``.

    Raises:
        ValueError: A class name that is empty, repeated or contains whitespace, or a size or
            count out of range.
    """
    classes = tuple(classes) or (STAR_DEFAULT_CLASSES if star else DOTA_DEFAULT_CLASSES)
    if any(c.split() != [c] for c in classes) or len(set(classes)) != len(classes):
        raise ValueError(f'class names must be unique, non-empty and without whitespace, got '
                         f'{list(classes)}')
    check_sizes(image_size, max_objects, num_train, num_val, num_test)
    look = rectangles_look(len(classes))
    if star:
        splits = (('train', num_train, True), ('test', num_val, True))
    else:
        splits = (('trainval', num_train, True), ('val', num_val, True), ('test', num_test, False))
    root = osp.abspath(out_dir)
    result: Dict[str, object] = dict(data_root=root, classes=classes,
                                     layout='star' if star else 'dota')
    first_id = 0
    for split_idx, (split, num, labelled) in enumerate(splits):
        rng = np.random.default_rng([seed, split_idx])
        img_dir = osp.join(root, split, 'images')
        ann_dir = osp.join(root, split, 'annfiles') if labelled else None
        for folder in filter(None, (img_dir, ann_dir)):
            os.makedirs(folder, exist_ok=True)
        num_objects = 0
        for img_id in range(first_id, first_id + num):
            img, objects = draw_scene(rng, look, image_size, max_objects)
            # the split tool's patch name: original image P<id>, window size, x and y offsets
            name = f'P{img_id:04d}__{image_size}__0___0'
            save_image(osp.join(img_dir, name + '.png'), img)
            num_objects += len(objects)
            if ann_dir:
                with open(osp.join(ann_dir, name + '.txt'), 'w') as f:
                    f.writelines(format_dota_line(o.polygon, classes[o.label]) + '\n'
                                 for o in objects)
        first_id += num
        result.update({f'{split}_img_dir': img_dir, f'{split}_ann_dir': ann_dir,
                       f'num_{split}_images': num, f'num_{split}_instances': num_objects})
    return result
