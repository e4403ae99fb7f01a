"""The tiny COCO set: instance segmentation in the COCO 2017 layout that mmdet's CocoDataset reads.

``annotations/instances_{train,val}2017.json`` and ``{train,val}2017/%012d.jpg`` under the data
root, so any COCO config works after changing ``data_root`` and ``classes``. By default the
classes are red squares, green circles and blue triangles (:mod:`.scenes`); a small Mask R-CNN
trained on a CPU for a few hundred iterations at 128 px reaches non-zero bbox and segm AP.
"""
import json
import os
import os.path as osp
from typing import Dict, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from .scenes import check_sizes, draw_scene, save_image, shapes_look

DEFAULT_CLASSES = ('square', 'circle', 'triangle')


def make_synthetic_coco(out_dir: str,
                        num_train: int = 64,
                        num_val: int = 16,
                        image_size: int = 128,
                        seed: int = 0,
                        classes: Sequence[str] = DEFAULT_CLASSES,
                        max_objects: int = 3) -> Dict[str, object]:
    """Write a tiny instance-segmentation set in the COCO 2017 layout.

    Image and annotation ids are unique across both splits (train first), category ids start at
    1 in the order of ``classes``. Equal arguments give byte-identical files; each split has its
    own random stream, so changing ``num_train`` leaves the validation images as they are.

    Args:
        out_dir: Data root; created if missing. Files of the same names are overwritten.
        num_train: Number of training images.
        num_val: Number of validation images.
        image_size: Side of the square images in pixels.
        seed: Seed of the random streams.
        classes: Class names, distinct shapes of :data:`.scenes.SHAPES`.
        max_objects: Most objects per image.

    Returns:
        dict: ``data_root``, ``classes``, and per split ``{split}_ann_file``, ``{split}_img_dir``
        (absolute paths), ``num_{split}_images`` and ``num_{split}_instances``.

    Raises:
        ValueError: A class that is not a shape, a repeated class, or a size or count out of
            range.
    """
    classes = tuple(classes)
    look = shapes_look(classes)
    check_sizes(image_size, max_objects, num_train, num_val)
    root = osp.abspath(out_dir)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    result: Dict[str, object] = dict(data_root=root, classes=classes)
    first_img_id, first_ann_id = 1, 1  # unique across the splits, as in COCO
    for split_idx, (split, num) in enumerate((('train', num_train), ('val', num_val))):
        rng = np.random.default_rng([seed, split_idx])
        img_dir = osp.join(root, f'{split}2017')
        os.makedirs(img_dir, exist_ok=True)
        images, annotations = [], []
        for img_id in range(first_img_id, first_img_id + num):
            img, objects = draw_scene(rng, look, image_size, max_objects)
            file_name = f'{img_id:012d}.jpg'
            save_image(osp.join(img_dir, file_name), img)
            images.append(dict(id=img_id, file_name=file_name, width=image_size,
                               height=image_size))
            for obj in objects:
                annotations.append(
                    dict(id=first_ann_id + len(annotations), image_id=img_id,
                         category_id=obj.label + 1,
                         segmentation=[obj.polygon.ravel().tolist()],
                         area=float(mask_utils.area(obj.rle)),
                         bbox=[float(v) for v in mask_utils.toBbox(obj.rle)], iscrowd=0))
        ann_file = osp.join(root, 'annotations', f'instances_{split}2017.json')
        with open(ann_file, 'w') as f:
            json.dump(dict(
                info=dict(description=f'mona_mm synthetic tiny COCO ({split})', version='1.0',
                          year=2017, contributor='mona_mm.testing.make_synthetic_coco'),
                licenses=[dict(id=1, name='CC0 1.0', url='')],
                images=images,
                annotations=annotations,
                categories=[dict(id=i + 1, name=name, supercategory='shape')
                            for i, name in enumerate(classes)]), f)
        first_img_id += num
        first_ann_id += len(annotations)
        result.update({f'{split}_ann_file': ann_file, f'{split}_img_dir': img_dir,
                       f'num_{split}_images': num, f'num_{split}_instances': len(annotations)})
    return result
