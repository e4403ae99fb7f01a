"""A tiny, deterministic detection set in the Pascal VOC 2007 + 2012 layout (VOCdevkit).

The scenes are those of :mod:`mona_mm.datasets.synthetic_coco` (its scene drawing is reused, not
copied): a mildly textured, low-saturation background with one to a few non-overlapping filled
shapes, each class with its own shape and its own saturated colour. Each shape stands for one of
VOC's 20 class names (mmdet's ``VOCDataset`` skips objects whose name is not a VOC class, so the
names must be real ones); by default a square is a ``tvmonitor``, a circle a ``pottedplant`` and
a triangle a ``boat``.

Layout (``data_root`` is ``out_dir``, the ``VOCdevkit`` folder)::

    VOC2007/JPEGImages/000001.jpg ...            VOC2012/JPEGImages/2008_000001.jpg ...
    VOC2007/Annotations/000001.xml ...           VOC2012/Annotations/2008_000001.xml ...
    VOC2007/ImageSets/Main/{train,val,trainval,test}.txt
    VOC2012/ImageSets/Main/{train,val,trainval}.txt   (VOC2012 has no public test set)

The XML files follow the VOC schema (``folder``, ``filename``, ``source``, ``size`` with
``width``/``height``/``depth``, ``segmented``, and per object ``name``, ``pose``, ``truncated``,
``difficult``, ``bndbox`` with 1-based inclusive ``xmin``/``ymin``/``xmax``/``ymax``). The boxes
are the tight boxes of the painted pixels. A fraction of the objects is flagged ``difficult``,
which mmdet turns into ignored instances, as on real VOC.
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from .synthetic_coco import SHAPES, _make_scene

#: (VOC class name, shape drawn for it)
DEFAULT_VOC_CLASSES: Tuple[Tuple[str, str], ...] = (
    ('tvmonitor', 'square'), ('pottedplant', 'circle'), ('boat', 'triangle'))

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
               'sheep', 'sofa', 'train', 'tvmonitor')

_JPEG_QUALITY = 95


def _sub(parent: ET.Element, tag: str, text=None) -> ET.Element:
    node = ET.SubElement(parent, tag)
    if text is not None:
        node.text = str(text)
    return node


def voc_xml(folder: str, file_name: str, size: int, objects: Sequence[dict]) -> ET.ElementTree:
    """Build one VOC annotation.

    Args:
        folder: ``'VOC2007'`` or ``'VOC2012'``.
        file_name: The image file name, e.g. ``'000001.jpg'``.
        size: Image side in pixels (square images).
        objects: Dicts with ``name``, ``difficult`` (0/1) and ``bbox`` = 1-based inclusive
            ``(xmin, ymin, xmax, ymax)``.

    Returns:
        ElementTree: The ``<annotation>`` tree, indented as the VOC files are.
    """
    root = ET.Element('annotation')
    _sub(root, 'folder', folder)
    _sub(root, 'filename', file_name)
    source = _sub(root, 'source')
    _sub(source, 'database', f'The {folder} Database (mona_mm synthetic)')
    _sub(source, 'annotation', f'PASCAL {folder}')
    _sub(source, 'image', 'mona_mm.datasets.make_synthetic_voc')
    size_node = _sub(root, 'size')
    _sub(size_node, 'width', size)
    _sub(size_node, 'height', size)
    _sub(size_node, 'depth', 3)
    _sub(root, 'segmented', 0)
    for obj in objects:
        node = _sub(root, 'object')
        _sub(node, 'name', obj['name'])
        _sub(node, 'pose', 'Unspecified')
        _sub(node, 'truncated', 0)
        _sub(node, 'difficult', obj['difficult'])
        box = _sub(node, 'bndbox')
        for tag, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), obj['bbox']):
            _sub(box, tag, value)
    tree = ET.ElementTree(root)
    ET.indent(tree, space='\t')
    return tree


def voc_box(rle: dict) -> Tuple[int, int, int, int]:
    """The VOC box of a mask: 1-based, inclusive ``(xmin, ymin, xmax, ymax)``.

    Args:
        rle: A pycocotools RLE of a non-empty mask.

    Returns:
        tuple: First and last painted column and row, each plus one (VOC counts from 1).
    """
    x, y, w, h = (int(round(v)) for v in mask_utils.toBbox(rle))
    return x + 1, y + 1, x + w, y + h


def _write_year(rng: np.random.Generator, root: str, year: str, splits: Dict[str, List[str]],
                size: int, classes: Sequence[Tuple[str, str]], max_objects: int,
                difficult_ratio: float) -> Dict[str, int]:
    """Write the images, XML files and ImageSets of one VOC year; return object counts."""
    base = osp.join(root, year)
    for sub in ('JPEGImages', 'Annotations', osp.join('ImageSets', 'Main')):
        os.makedirs(osp.join(base, sub), exist_ok=True)
    shapes = [shape for _, shape in classes]
    counts = dict(objects=0, difficult=0)
    for img_id in dict.fromkeys(i for ids in splits.values() for i in ids):  # trainval repeats
        img, scene = _make_scene(rng, size, shapes, max_objects)
        objects = []
        for obj in scene:
            difficult = int(rng.random() < difficult_ratio)
            objects.append(
                dict(name=classes[obj['label']][0], difficult=difficult, bbox=voc_box(obj['rle'])))
            counts['objects'] += 1
            counts['difficult'] += difficult
        cv2.imwrite(
            osp.join(base, 'JPEGImages', f'{img_id}.jpg'), img,
            [int(cv2.IMWRITE_JPEG_QUALITY), _JPEG_QUALITY])
        voc_xml(year, f'{img_id}.jpg', size, objects).write(
            osp.join(base, 'Annotations', f'{img_id}.xml'), encoding='utf-8')
    for split, ids in splits.items():
        with open(osp.join(base, 'ImageSets', 'Main', f'{split}.txt'), 'w') as f:
            f.write(''.join(f'{i}\n' for i in ids))
    return counts


def make_synthetic_voc(out_dir: str,
                       num_trainval_2007: int = 16,
                       num_test_2007: int = 8,
                       num_trainval_2012: int = 16,
                       image_size: int = 192,
                       seed: int = 0,
                       classes: Sequence[Tuple[str, str]] = DEFAULT_VOC_CLASSES,
                       max_objects: int = 3,
                       difficult_ratio: float = 0.1) -> Dict[str, object]:
    """Generate a tiny synthetic detection set in the VOCdevkit layout (VOC2007 + VOC2012).

    The default size of 192 px keeps every box at least 32 px on each side, so mmdet's VOC
    training filter (``bbox_min_size=32``) ignores none of them.

    Args:
        out_dir: The ``VOCdevkit`` root; created if missing. Files with the same names are
            overwritten, others are left alone.
        num_trainval_2007: VOC2007 trainval images (ids 000001...).
        num_test_2007: VOC2007 test images (ids after the trainval ones).
        num_trainval_2012: VOC2012 trainval images (ids 2008_000001...).
        image_size: Side of the square images in pixels.
        seed: Seed of the ``numpy.random.Generator`` streams (one per year).
        classes: ``(VOC class name, shape)`` pairs; names from VOC's 20 classes, shapes from
            ``synthetic_coco.SHAPES``.
        max_objects: Maximum number of objects per image (at least one).
        difficult_ratio: Probability that an object is flagged ``difficult``.

    Returns:
        dict: ``data_root`` (absolute), ``classes`` (the VOC names used), and per year
        ``{year}_{split}_ids`` (lists of image ids), ``{year}_num_objects`` and
        ``{year}_num_difficult`` with ``year`` in ``VOC2007``/``VOC2012``.

    Raises:
        ValueError: A class name that is not a VOC class, an unknown shape, a repeated name or
            shape, or a size or count out of range.
    """
    classes = tuple((str(n), str(s)) for n, s in classes)
    names, shapes = [n for n, _ in classes], [s for _, s in classes]
    bad = [n for n in names if n not in VOC_CLASSES] + [s for s in shapes if s not in SHAPES]
    if not classes or bad:
        raise ValueError(f'classes must be (VOC class, shape) pairs with names from '
                         f'{VOC_CLASSES} and shapes from {sorted(SHAPES)}; bad: {bad}')
    if len(set(names)) != len(names) or len(set(shapes)) != len(shapes):
        raise ValueError(f'repeated class name or shape in {list(classes)}')
    if image_size < 16 or max_objects < 1 or not 0 <= difficult_ratio <= 1 or min(
            num_trainval_2007, num_test_2007, num_trainval_2012) < 0:
        raise ValueError('need image_size >= 16, max_objects >= 1, 0 <= difficult_ratio <= 1 '
                         'and non-negative image counts')
    root = osp.abspath(out_dir)
    ids_2007 = [f'{i:06d}' for i in range(1, num_trainval_2007 + num_test_2007 + 1)]
    ids_2012 = [f'2008_{i:06d}' for i in range(1, num_trainval_2012 + 1)]
    years = {
        'VOC2007': _splits(ids_2007[:num_trainval_2007], ids_2007[num_trainval_2007:]),
        'VOC2012': _splits(ids_2012, None),
    }
    result: Dict[str, object] = dict(data_root=root, classes=tuple(names))
    for year_idx, (year, splits) in enumerate(years.items()):
        rng = np.random.default_rng([seed, year_idx])
        counts = _write_year(rng, root, year, splits, image_size, classes, max_objects,
                             difficult_ratio)
        for split, ids in splits.items():
            result[f'{year}_{split}_ids'] = list(ids)
        result[f'{year}_num_objects'] = counts['objects']
        result[f'{year}_num_difficult'] = counts['difficult']
    return result


def _splits(trainval: List[str], test) -> Dict[str, List[str]]:
    """VOC's ImageSets/Main split lists: train and val halve trainval; test when given."""
    half = (len(trainval) + 1) // 2
    splits = dict(train=trainval[:half], val=trainval[half:], trainval=list(trainval))
    if test is not None:
        splits['test'] = list(test)
    return splits
