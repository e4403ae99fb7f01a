"""A tiny, deterministic oriented-detection dataset in the DOTA layout mmrotate reads.

Every image is the textured background of :mod:`mona_mm.datasets.synthetic_coco` with one to a
few non-overlapping filled rotated rectangles at any angle. Each class has its own saturated
colour (the same palette as the tiny COCO set) and its own aspect ratio (1.5:1, 2.5:1, 4:1, ...),
so class, extent and orientation are plainly visible and a small Oriented R-CNN or rotated
RetinaNet trained on a CPU for a few iterations already exercises every part of the rotated
pipeline (qbox annotations, rbox conversion, rotated anchors and RoIs, rotated NMS, DOTA mAP).

The output is what mmrotate's split tool (``tools/data/dota/split/img_split.py``) writes: per
split ``images/*.png`` and ``annfiles/*.txt``, one object per line as
``x1 y1 x2 y2 x3 y3 x4 y4 class difficulty`` (the four corners clockwise on screen), and patch
names ``<original>__<size>__<x>___<y>`` from which mmrotate's ``DOTAMetric(merge_patches=True)``
recovers the patch offsets. Two layouts:

* DOTA-v1.0 (default): ``trainval/`` and ``val/`` annotated (``val/`` is disjoint from
  ``trainval/`` here, so a tiny evaluation is held out), ``test/images`` without labels, as the
  real test set;
* STAR (``star=True``): ``train/`` and ``test/``, both annotated.

Corners are exact to 0.01 px and the image is painted through the polygon rasterised by
pycocotools (as the tiny COCO set), so pixels and labels agree.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from .synthetic_coco import _COLOR_JITTER, PALETTE, _background

# A few classes of each label set (all names are valid in mmrotate's DOTADataset and in our
# STARDataset respectively), chosen to be plausibly rectangular objects.
DOTA_DEFAULT_CLASSES = ('large-vehicle', 'ship', 'harbor')
STAR_DEFAULT_CLASSES = ('ship', 'airplane', 'truck')
# Long side / short side of each class index (cycled if there are more classes).
ASPECT_RATIOS = (1.5, 2.5, 4.0, 2.0, 3.0, 1.2)

_MIN_LONG, _MAX_LONG = 0.3, 0.55  # long side as a fraction of the image side
_GAP = 2  # px between the circumcircles of two objects


def rotated_rectangle(cx: float, cy: float, long_side: float, short_side: float,
                      angle: float) -> np.ndarray:
    """Corners of a rotated rectangle, clockwise on screen (image y axis points down).

    Args:
        cx: Centre x in pixels.
        cy: Centre y in pixels.
        long_side: Side along the direction ``angle``.
        short_side: The other side.
        angle: Rotation of the long side from the x axis, in radians (clockwise on screen).

    Returns:
        np.ndarray: (4, 2) corners rounded to 0.01 px.
    """
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [long_side / 2, short_side / 2]
    cos, sin = np.cos(angle), np.sin(angle)
    rot = np.array([[cos, -sin], [sin, cos]])
    return np.round(half @ rot.T + [cx, cy], 2)


def _make_scene(rng: np.random.Generator, size: int, num_classes: int,
                max_objects: int) -> Tuple[np.ndarray, List[dict]]:
    """Draw one image and return it with its objects (label, (4, 2) corners)."""
    img = _background(rng, size)
    placed: List[Tuple[float, float, float]] = []  # (cx, cy, circumradius)
    objects = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        label = int(rng.integers(num_classes))
        aspect = ASPECT_RATIOS[label % len(ASPECT_RATIOS)]
        # Rejection-sample a size and centre whose circumcircle stays inside the image and clear
        # of the others: objects are never cut by the border and never overlap, at any angle.
        for _try in range(50):
            long_side = rng.uniform(_MIN_LONG, _MAX_LONG) * size
            radius = 0.5 * long_side * np.hypot(1.0, 1.0 / aspect)
            if 2 * radius + 2 >= size:
                continue
            cx, cy = rng.uniform(radius + 1, size - radius - 1, size=2)
            if all(np.hypot(cx - x, cy - y) > radius + r + _GAP for x, y, r in placed):
                break
        else:
            continue
        placed.append((cx, cy, radius))
        corners = rotated_rectangle(cx, cy, long_side, long_side / aspect,
                                    rng.uniform(0, np.pi))
        rle = mask_utils.frPyObjects([corners.ravel().tolist()], size, size)
        mask = mask_utils.decode(mask_utils.merge(rle)).astype(bool)
        color = np.array(PALETTE[label % len(PALETTE)], dtype=np.float64)
        color += rng.uniform(-_COLOR_JITTER, _COLOR_JITTER, size=3)
        img[mask] = np.clip(color, 0, 255)
        objects.append(dict(label=label, corners=corners))
    return np.round(img).astype(np.uint8), objects


def format_dota_line(corners: np.ndarray, class_name: str, difficulty: int = 0) -> str:
    """One DOTA label line: ``x1 y1 x2 y2 x3 y3 x4 y4 class difficulty``."""
    coords = ' '.join(f'{v:.2f}' for v in np.asarray(corners).ravel())
    return f'{coords} {class_name} {difficulty}'


def _write_split(rng: np.random.Generator, split_dir: str, num_images: int, first_id: int,
                 size: int, classes: Sequence[str], max_objects: int,
                 with_labels: bool) -> int:
    """Write one split (``images/`` and, with labels, ``annfiles/``); return its object count."""
    img_dir = osp.join(split_dir, 'images')
    ann_dir = osp.join(split_dir, 'annfiles')
    os.makedirs(img_dir, exist_ok=True)
    if with_labels:
        os.makedirs(ann_dir, exist_ok=True)
    num_objects = 0
    for img_id in range(first_id, first_id + num_images):
        img, objects = _make_scene(rng, size, len(classes), max_objects)
        # the split tool's patch name: original image P<id>, window size, x and y offsets
        name = f'P{img_id:04d}__{size}__0___0'
        cv2.imwrite(osp.join(img_dir, name + '.png'), img)
        num_objects += len(objects)
        if with_labels:
            with open(osp.join(ann_dir, name + '.txt'), 'w') as f:
                f.writelines(format_dota_line(o['corners'], classes[o['label']]) + '\n'
                             for o in objects)
    return num_objects


def make_synthetic_dota(out_dir: str,
                        num_train: int = 64,
                        num_val: int = 16,
                        num_test: int = 8,
                        image_size: int = 128,
                        seed: int = 0,
                        star: bool = False,
                        classes: Sequence[str] = (),
                        max_objects: int = 3) -> Dict[str, object]:
    """Generate a tiny oriented-detection dataset in mmrotate's split DOTA layout.

    DOTA-v1.0 layout (default): ``trainval/{images,annfiles}`` (``num_train`` images),
    ``val/{images,annfiles}`` (``num_val``) and ``test/images`` (``num_test``, no labels).
    STAR layout (``star=True``): ``train/{images,annfiles}`` (``num_train``) and
    ``test/{images,annfiles}`` (``num_val``; ``num_test`` is unused). Image names are unique
    across splits. Output is byte-identical for equal arguments, and each split has its own
    random stream, so changing one split's size leaves the others unchanged.

    Args:
        out_dir: Dataset root; created if missing. Files with the same names are overwritten,
            others are left alone.
        num_train: Images of the training split.
        num_val: Images of the annotated evaluation split.
        num_test: Unlabelled test images (DOTA layout only).
        image_size: Side of the square images (the split tool's patch size) in pixels.
        seed: Seed of the ``numpy.random.Generator`` streams.
        star: Write the STAR layout and class names instead of DOTA-v1.0's.
        classes: Class names written to the label files, in label order; empty for
            :data:`DOTA_DEFAULT_CLASSES` or :data:`STAR_DEFAULT_CLASSES`. Names must contain no
            whitespace (the label format is space-separated).
        max_objects: Maximum number of objects per image (at least one).

    Returns:
        dict: ``data_root`` (absolute), ``classes``, ``layout`` ('dota' or 'star'), and per
        split name ``<split>_img_dir``, ``<split>_ann_dir`` (None when unlabelled),
        ``num_<split>_images`` and ``num_<split>_instances``.

    Raises:
        ValueError: If a class name is empty, duplicated or contains whitespace, or a size or
            count is out of range.
    """
    classes = tuple(classes) or (STAR_DEFAULT_CLASSES if star else DOTA_DEFAULT_CLASSES)
    if any(not c or len(c.split()) != 1 for c in classes) or len(set(classes)) != len(classes):
        raise ValueError(f'class names must be unique, non-empty and without whitespace, got '
                         f'{list(classes)}')
    if image_size < 32 or max_objects < 1 or min(num_train, num_val, num_test) < 0:
        raise ValueError('need image_size >= 32, max_objects >= 1 and non-negative counts')
    if star:
        splits = [('train', num_train, True), ('test', num_val, True)]
    else:
        splits = [('trainval', num_train, True), ('val', num_val, True),
                  ('test', num_test, False)]
    root = osp.abspath(out_dir)
    result: Dict[str, object] = dict(data_root=root, classes=classes,
                                     layout='star' if star else 'dota')
    first_id = 0
    for split_idx, (split, num, with_labels) in enumerate(splits):
        rng = np.random.default_rng([seed, split_idx])
        split_dir = osp.join(root, split)
        count = _write_split(rng, split_dir, num, first_id, image_size, classes, max_objects,
                             with_labels)
        first_id += num
        result.update({
            f'{split}_img_dir': osp.join(split_dir, 'images'),
            f'{split}_ann_dir': osp.join(split_dir, 'annfiles') if with_labels else None,
            f'num_{split}_images': num,
            f'num_{split}_instances': count,
        })
    return result
