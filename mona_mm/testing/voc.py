"""The tiny VOC set: detection in the Pascal VOC 2007 + 2012 layout that mmdet's VOCDataset reads.

Each shape stands for one of VOC's 20 class names, because ``VOCDataset`` skips objects of other
names; by default a square is a ``tvmonitor``, a circle a ``pottedplant``, a triangle a ``boat``.
Layout under the data root (the ``VOCdevkit`` folder)::

    VOC2007/JPEGImages/000001.jpg ...            VOC2012/JPEGImages/2008_000001.jpg ...
    VOC2007/Annotations/000001.xml ...           VOC2012/Annotations/2008_000001.xml ...
    VOC2007/ImageSets/Main/{train,val,trainval,test}.txt
    VOC2012/ImageSets/Main/{train,val,trainval}.txt   (VOC2012 has no public test set)

The XML files follow the VOC schema (``folder``, ``filename``, ``source``, ``size``,
``segmented``; per object ``name``, ``pose``, ``truncated``, ``difficult`` and a ``bndbox`` with
1-based inclusive corners, the tight box of the painted pixels). A fraction of the objects is
flagged ``difficult``, which mmdet turns into ignored instances, as on real VOC.
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from pycocotools import mask as mask_utils

from .scenes import check_sizes, draw_scene, save_image, shapes_look

#: (VOC class name, shape drawn for it)
DEFAULT_VOC_CLASSES: Tuple[Tuple[str, str], ...] = (
    ('tvmonitor', 'square'), ('pottedplant', 'circle'), ('boat', 'triangle'))
VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
               'sheep', 'sofa', 'train', 'tvmonitor')


def voc_box(rle: dict) -> Tuple[int, int, int, int]:
    """The VOC box of a non-empty mask (pycocotools RLE): 1-based, inclusive
    ``(xmin, ymin, xmax, ymax)``, i.e. the first and last painted column and row, plus one."""
    x, y, w, h = (int(round(v)) for v in mask_utils.toBbox(rle))
    return x + 1, y + 1, x + w, y + h


def voc_xml(folder: str, file_name: str, size: int, objects: Sequence[dict]) -> ET.ElementTree:
    """One VOC annotation.

    Args:
        folder: ``'VOC2007'`` or ``'VOC2012'``.
        file_name: The image file name, e.g. ``'000001.jpg'``.
        size: Image side in pixels (square images).
        objects: Dicts with ``name``, ``difficult`` (0/1) and ``bbox`` (see :func:`voc_box`).

    Returns:
        ElementTree: The ``<annotation>`` tree, indented as the VOC files are.
    """
    def sub(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
        node = ET.SubElement(parent, tag)
        if text is not None:
            node.text = str(text)
        return node

    root = ET.Element('annotation')
    sub(root, 'folder', folder)
    sub(root, 'filename', file_name)
    source = sub(root, 'source')
    sub(source, 'database', f'The {folder} Database (mona_mm synthetic)')
    sub(source, 'annotation', f'PASCAL {folder}')
    sub(source, 'image', 'mona_mm.testing.make_synthetic_voc')
    size_node = sub(root, 'size')
    for tag, value in (('width', size), ('height', size), ('depth', 3)):
        sub(size_node, tag, value)
    sub(root, 'segmented', 0)
    for obj in objects:
        node = sub(root, 'object')
        sub(node, 'name', obj['name'])
        sub(node, 'pose', 'Unspecified')
        sub(node, 'truncated', 0)
        sub(node, 'difficult', obj['difficult'])
        box = sub(node, 'bndbox')
        for tag, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), obj['bbox']):
            sub(box, tag, value)
    tree = ET.ElementTree(root)
    ET.indent(tree, space='\t')
    return tree


def _splits(trainval: List[str], test: Optional[List[str]]) -> Dict[str, List[str]]:
    """VOC's ImageSets/Main lists: train and val halve trainval; test when given."""
    half = (len(trainval) + 1) // 2
    splits = dict(train=trainval[:half], val=trainval[half:], trainval=trainval)
    if test is not None:
        splits['test'] = test
    return splits


def make_synthetic_voc(out_dir: str,
                       num_trainval_2007: int = 16,
                       num_test_2007: int = 8,
                       num_trainval_2012: int = 16,
                       image_size: int = 192,
                       seed: int = 0,
                       classes: Sequence[Tuple[str, str]] = DEFAULT_VOC_CLASSES,
                       max_objects: int = 3,
                       difficult_ratio: float = 0.1) -> Dict[str, object]:
    """Write a tiny detection set in the VOCdevkit layout (VOC2007 + VOC2012).

    The default 192 px keeps every box at least 32 px on each side, so mmdet's VOC training
    filter (``bbox_min_size=32``) ignores none. Equal arguments give byte-identical files.

    Args:
        out_dir: The ``VOCdevkit`` folder; created if missing. Files of the same names are
            overwritten.
        num_trainval_2007: VOC2007 trainval images (ids 000001...).
        num_test_2007: VOC2007 test images (ids after the trainval ones).
        num_trainval_2012: VOC2012 trainval images (ids 2008_000001...).
        image_size: Side of the square images in pixels.
        seed: Seed of the random streams (one per year).
        classes: ``(VOC class name, shape)`` pairs, names from :data:`VOC_CLASSES`, shapes from
            :data:`.scenes.SHAPES`, each used once.
        max_objects: Most objects per image.
        difficult_ratio: Probability that an object is flagged ``difficult``.

    Returns:
        dict: ``data_root`` (absolute), ``classes`` (the VOC names), and per year (``VOC2007``,
        ``VOC2012``) ``{year}_{split}_ids``, ``{year}_num_objects``, ``{year}_num_difficult``.

    Raises:
        ValueError: A name that is not a VOC class, a repeated name, an unknown or repeated
            shape, or a size, count or ratio out of range.
    """
    names = [str(n) for n, _ in classes]
    if not set(names) <= set(VOC_CLASSES) or len(set(names)) != len(names):
        raise ValueError(f'class names must be distinct VOC classes {VOC_CLASSES} (mmdet skips '
                         f'other names); got {names}')
    look = shapes_look([str(s) for _, s in classes])
    check_sizes(image_size, max_objects, num_trainval_2007, num_test_2007, num_trainval_2012)
    if not 0 <= difficult_ratio <= 1:
        raise ValueError(f'difficult_ratio must be in [0, 1], got {difficult_ratio}')
    root = osp.abspath(out_dir)
    ids_2007 = [f'{i:06d}' for i in range(1, num_trainval_2007 + num_test_2007 + 1)]
    years = {
        'VOC2007': _splits(ids_2007[:num_trainval_2007], ids_2007[num_trainval_2007:]),
        'VOC2012': _splits([f'2008_{i:06d}' for i in range(1, num_trainval_2012 + 1)], None),
    }
    result: Dict[str, object] = dict(data_root=root, classes=tuple(names))
    for year_idx, (year, splits) in enumerate(years.items()):
        rng = np.random.default_rng([seed, year_idx])
        base = osp.join(root, year)
        for sub in ('JPEGImages', 'Annotations', osp.join('ImageSets', 'Main')):
            os.makedirs(osp.join(base, sub), exist_ok=True)
        num_objects = num_difficult = 0
        for img_id in dict.fromkeys(i for ids in splits.values() for i in ids):  # each id once
            img, scene = draw_scene(rng, look, image_size, max_objects)
            objects = [dict(name=names[obj.label], bbox=voc_box(obj.rle),
                            difficult=int(rng.random() < difficult_ratio)) for obj in scene]
            num_objects += len(objects)
            num_difficult += sum(obj['difficult'] for obj in objects)
            save_image(osp.join(base, 'JPEGImages', f'{img_id}.jpg'), img)
            voc_xml(year, f'{img_id}.jpg', image_size, objects).write(
                osp.join(base, 'Annotations', f'{img_id}.xml'), encoding='utf-8')
        for split, ids in splits.items():
            with open(osp.join(base, 'ImageSets', 'Main', f'{split}.txt'), 'w') as f:
                f.write(''.join(f'{i}\n' for i in ids))
            result[f'{year}_{split}_ids'] = ids
        result[f'{year}_num_objects'] = num_objects
        result[f'{year}_num_difficult'] = num_difficult
    return result
