"""A tiny, deterministic, COCO-format instance-segmentation dataset.

Every image is a mildly textured, low-saturation background with one to a few
non-overlapping filled shapes. Each class has both its own shape and its own
saturated colour (by default red squares, green circles and blue triangles),
and objects span roughly a quarter to a half of the image side. Identity,
extent and outline are therefore trivially visible, which is the point: a
small Mask R-CNN trained on a CPU for a few hundred iterations at ~128x128
already shows falling losses and non-zero bbox/segm AP, so the whole
train/test loop can be exercised in minutes without downloading COCO.

The output follows the real COCO 2017 layout (``annotations/instances_*.json``
plus ``train2017/`` and ``val2017/`` folders of ``%012d.jpg`` images), so any
config written for COCO works after changing ``data_root`` and ``classes``.

Masks are rasterised from the stored polygons with pycocotools, the same
rasteriser that ``COCO.annToMask`` and mmdet's ``PolygonMasks`` use, and the
image is painted through exactly that mask. Hence the drawn pixels, the
decoded masks, ``bbox`` and ``area`` agree to the pixel. (``cv2.fillPoly``
also fills boundary pixels and would make every object about half a pixel
larger than its polygon.)
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

DEFAULT_CLASSES = ('square', 'circle', 'triangle')

# shape name -> (number of vertices, base rotation in radians, inner radius
# ratio for stars). Circles are 24-gons.
SHAPES = {
    'square': (4, np.pi / 4, 1.0),
    'circle': (24, 0.0, 1.0),
    'triangle': (3, -np.pi / 2, 1.0),
    'diamond': (4, 0.0, 1.0),
    'hexagon': (6, 0.0, 1.0),
    'star': (10, -np.pi / 2, 0.45),
}
# One saturated BGR colour per class index (cycled if there are more).
PALETTE = ((40, 40, 220), (40, 200, 40), (220, 60, 30), (30, 210, 230),
           (200, 40, 200), (210, 200, 30))

_MIN_SIZE, _MAX_SIZE = 0.25, 0.5  # object diameter as a fraction of the side
_ROT_JITTER = np.pi / 12  # +-15 degrees (circles are unaffected)
_COLOR_JITTER = 20
_JPEG_QUALITY = 95


def _shape_polygon(shape: str, cx: float, cy: float, radius: float,
                   rotation: float) -> np.ndarray:
    """Return the (N, 2) vertices of ``shape`` rounded to 0.01 px."""
    num, base_rot, inner = SHAPES[shape]
    angles = base_rot + rotation + 2 * np.pi * np.arange(num) / num
    radii = np.where(np.arange(num) % 2 == 1, radius * inner, radius)
    pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)],
                   axis=1)
    return np.round(pts, 2)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A low-saturation base colour with a soft gradient and mild noise."""
    base = rng.uniform(70, 180) + rng.uniform(-15, 15, size=3)
    ramp = np.linspace(-1, 1, size)
    gx, gy = rng.uniform(-15, 15, size=2)
    grad = gx * ramp[None, :] + gy * ramp[:, None]
    noise = rng.normal(0, 5, size=(size, size, 3))
    img = base[None, None, :] + grad[..., None] + noise
    return np.clip(img, 0, 255)


def _make_scene(rng: np.random.Generator, size: int, classes: Sequence[str],
                max_objects: int) -> Tuple[np.ndarray, List[dict]]:
    """Draw one image and return it with its objects (label, polygon, mask)."""
    img = _background(rng, size)
    placed: List[Tuple[float, float, float]] = []  # (cx, cy, radius)
    objects = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        label = int(rng.integers(len(classes)))
        # Rejection-sample a size and centre whose circumcircle stays inside
        # the image and clear of the others (2 px gap): objects never overlap.
        for _try in range(50):
            radius = rng.uniform(_MIN_SIZE, _MAX_SIZE) * size / 2
            cx, cy = rng.uniform(radius + 1, size - radius - 1, size=2)
            if all(np.hypot(cx - x, cy - y) > radius + r + 2
                   for x, y, r in placed):
                break
        else:
            continue
        placed.append((cx, cy, radius))
        rotation = rng.uniform(-_ROT_JITTER, _ROT_JITTER)
        poly = _shape_polygon(classes[label], cx, cy, radius, rotation)
        rle = mask_utils.merge(
            mask_utils.frPyObjects([poly.ravel().tolist()], size, size))
        mask = mask_utils.decode(rle).astype(bool)
        color = np.array(PALETTE[label % len(PALETTE)], dtype=np.float64)
        color += rng.uniform(-_COLOR_JITTER, _COLOR_JITTER, size=3)
        img[mask] = np.clip(color, 0, 255)
        objects.append(dict(label=label, polygon=poly, rle=rle))
    return np.round(img).astype(np.uint8), objects


def _write_split(rng: np.random.Generator, root: str, split: str,
                 num_images: int, first_img_id: int, first_ann_id: int,
                 size: int, classes: Sequence[str], max_objects: int) -> dict:
    """Write the images of one split and return its COCO dictionary."""
    img_dir = osp.join(root, f'{split}2017')
    os.makedirs(img_dir, exist_ok=True)
    images, annotations = [], []
    for img_id in range(first_img_id, first_img_id + num_images):
        img, objects = _make_scene(rng, size, classes, max_objects)
        file_name = f'{img_id:012d}.jpg'
        cv2.imwrite(
            osp.join(img_dir, file_name), img,
            [int(cv2.IMWRITE_JPEG_QUALITY), _JPEG_QUALITY])
        images.append(
            dict(id=img_id, file_name=file_name, width=size, height=size))
        for obj in objects:
            x, y, w, h = (float(v) for v in mask_utils.toBbox(obj['rle']))
            annotations.append(
                dict(
                    id=first_ann_id + len(annotations),
                    image_id=img_id,
                    category_id=obj['label'] + 1,
                    segmentation=[obj['polygon'].ravel().tolist()],
                    area=float(mask_utils.area(obj['rle'])),
                    bbox=[x, y, w, h],
                    iscrowd=0))
    return dict(
        info=dict(
            description=f'mona_mm synthetic tiny COCO ({split})',
            version='1.0',
            year=2017,
            contributor='mona_mm.datasets.make_synthetic_coco'),
        licenses=[dict(id=1, name='CC0 1.0', url='')],
        images=images,
        annotations=annotations,
        categories=[
            dict(id=i + 1, name=name, supercategory='shape')
            for i, name in enumerate(classes)
        ])


def make_synthetic_coco(out_dir: str,
                        num_train: int = 64,
                        num_val: int = 16,
                        image_size: int = 128,
                        seed: int = 0,
                        classes: Sequence[str] = DEFAULT_CLASSES,
                        max_objects: int = 3) -> Dict[str, object]:
    """Generate a tiny synthetic instance-segmentation dataset in COCO layout.

    Writes ``annotations/instances_{train,val}2017.json`` and the images
    ``{train,val}2017/%012d.jpg`` under ``out_dir``. Image ids are unique
    across both splits (train first), as are annotation ids. Category ids
    start at 1 in the order of ``classes``. Output is byte-identical for
    equal arguments; the two splits use independent random streams, so
    changing ``num_train`` does not change the validation images.

    Args:
        out_dir: Dataset root; created if missing. Existing files with the
            same names are overwritten, others are left alone.
        num_train: Number of training images.
        num_val: Number of validation images.
        image_size: Side of the square images in pixels.
        seed: Seed of the ``numpy.random.Generator`` streams.
        classes: Class names, each one of ``SHAPES`` ('square', 'circle',
            'triangle', 'diamond', 'hexagon', 'star').
        max_objects: Maximum number of objects per image (at least one).

    Returns:
        dict: ``data_root``, ``train_ann_file``, ``val_ann_file``,
        ``train_img_dir``, ``val_img_dir`` (absolute paths), ``classes``,
        ``num_train_images``, ``num_val_images``, ``num_train_instances``
        and ``num_val_instances``.

    Raises:
        ValueError: If a class name is not a known shape or a size or count
            is out of range.
    """
    classes = tuple(classes)
    unknown = [c for c in classes if c not in SHAPES]
    if not classes or unknown:
        raise ValueError(f'classes must be a non-empty subset of '
                         f'{sorted(SHAPES)}, got {list(classes)}')
    if len(set(classes)) != len(classes):
        raise ValueError(f'duplicate class names in {list(classes)}')
    if image_size < 16 or max_objects < 1 or min(num_train, num_val) < 0:
        raise ValueError('need image_size >= 16, max_objects >= 1 and '
                         'non-negative image counts')
    root = osp.abspath(out_dir)
    ann_dir = osp.join(root, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    result: Dict[str, object] = dict(data_root=root, classes=classes)
    first_img_id, first_ann_id = 1, 1
    for split_idx, (split, num) in enumerate([('train', num_train),
                                              ('val', num_val)]):
        rng = np.random.default_rng([seed, split_idx])
        coco = _write_split(rng, root, split, num, first_img_id, first_ann_id,
                            image_size, classes, max_objects)
        ann_file = osp.join(ann_dir, f'instances_{split}2017.json')
        with open(ann_file, 'w') as f:
            json.dump(coco, f)
        first_img_id += num
        first_ann_id += len(coco['annotations'])
        result.update({
            f'{split}_ann_file': ann_file,
            f'{split}_img_dir': osp.join(root, f'{split}2017'),
            f'num_{split}_images': num,
            f'num_{split}_instances': len(coco['annotations']),
        })
    return result
