"""Tests for mona_mm.testing.coco: the COCO 2017 layout, as pycocotools and mmdet read it."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from mona_mm.testing import DEFAULT_CLASSES, make_synthetic_coco
from mona_mm.testing.scenes import PALETTE
from tests.helpers import all_files

SPLITS = ('train', 'val')


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_coco')
    return make_synthetic_coco(str(root), num_train=24, num_val=8)


def test_layout_and_return_value(dataset):
    root = dataset['data_root']
    assert sorted(os.listdir(root)) == ['annotations', 'train2017', 'val2017']
    assert sorted(os.listdir(osp.join(root, 'annotations'))) == [
        'instances_train2017.json', 'instances_val2017.json'
    ]
    assert dataset['classes'] == DEFAULT_CLASSES
    all_img_ids, all_ann_ids = [], []
    for split in SPLITS:
        ann_file = dataset[f'{split}_ann_file']
        assert ann_file == osp.join(root, 'annotations',
                                    f'instances_{split}2017.json')
        with open(ann_file) as f:
            coco = json.load(f)
        assert {'info', 'licenses', 'images', 'annotations',
                'categories'} <= set(coco)
        assert coco['categories'] == [
            dict(id=i + 1, name=name, supercategory='shape')
            for i, name in enumerate(DEFAULT_CLASSES)
        ]
        assert len(coco['images']) == dataset[f'num_{split}_images']
        assert len(coco['annotations']) == dataset[f'num_{split}_instances']
        img_dir = dataset[f'{split}_img_dir']
        assert img_dir == osp.join(root, f'{split}2017')
        assert sorted(os.listdir(img_dir)) == sorted(
            i['file_name'] for i in coco['images'])
        for img in coco['images']:
            assert img['file_name'] == f'{img["id"]:012d}.jpg'
        per_image = {i['id']: 0 for i in coco['images']}
        for ann in coco['annotations']:
            per_image[ann['image_id']] += 1
            assert ann['iscrowd'] == 0
            assert all(isinstance(v, float) for v in ann['bbox'])
            assert isinstance(ann['segmentation'], list)
            assert len(ann['segmentation']) == 1
            assert len(ann['segmentation'][0]) >= 6
        assert all(1 <= n <= 3 for n in per_image.values())
        all_img_ids += list(per_image)
        all_ann_ids += [a['id'] for a in coco['annotations']]
    # ids are unique across splits, as in COCO
    assert len(set(all_img_ids)) == len(all_img_ids)
    assert len(set(all_ann_ids)) == len(all_ann_ids)


def test_deterministic(tmp_path):
    kwargs = dict(num_train=6, num_val=3, image_size=96)
    make_synthetic_coco(str(tmp_path / 'a'), seed=3, **kwargs)
    make_synthetic_coco(str(tmp_path / 'b'), seed=3, **kwargs)
    make_synthetic_coco(str(tmp_path / 'c'), seed=4, **kwargs)
    a, b, c = (all_files(str(tmp_path / n)) for n in 'abc')
    assert len(a) == 2 + 6 + 3
    assert a == b
    assert a.keys() == c.keys()
    assert all(a[k] != c[k] for k in a)


@pytest.mark.parametrize('split', SPLITS)
def test_masks_bboxes_areas_agree(dataset, split):
    coco = COCO(dataset[f'{split}_ann_file'])
    assert sorted(coco.getCatIds()) == [1, 2, 3]
    assert len(coco.getAnnIds()) == dataset[f'num_{split}_instances']
    for img_id in coco.getImgIds():
        info = coco.loadImgs(img_id)[0]
        img = cv2.imread(osp.join(dataset[f'{split}_img_dir'],
                                  info['file_name']))
        assert img.shape == (128, 128, 3)
        assert (info['height'], info['width']) == (128, 128)
        union = np.zeros(img.shape[:2], dtype=np.int32)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
            mask = coco.annToMask(ann)
            union += mask
            ys, xs = np.nonzero(mask)
            mask_bbox = [xs.min(), ys.min(), xs.max() + 1 - xs.min(),
                         ys.max() + 1 - ys.min()]
            np.testing.assert_allclose(ann['bbox'], mask_bbox, atol=1)
            assert abs(ann['area'] - mask.sum()) <= 0.02 * mask.sum()
            # objects are reasonably large: 20-60% of the image side
            assert 0.2 * 128 <= max(ann['bbox'][2:]) <= 0.6 * 128
        assert union.max() == 1, 'objects must not overlap'


def test_pixels_show_the_annotated_objects(dataset):
    """The image is painted through the annotated masks in class colours."""
    coco = COCO(dataset['train_ann_file'])
    for ann in coco.loadAnns(coco.getAnnIds()):
        info = coco.loadImgs(ann['image_id'])[0]
        img = cv2.imread(osp.join(dataset['train_img_dir'],
                                  info['file_name'])).astype(np.float64)
        mask = coco.annToMask(ann)
        kernel = np.ones((3, 3), np.uint8)
        inner = cv2.erode(mask, kernel).astype(bool)
        ring = (cv2.dilate(mask, kernel, iterations=3) -
                cv2.dilate(mask, kernel)).astype(bool)
        colour = np.array(PALETTE[ann['category_id'] - 1])
        inside = img[inner].mean(axis=0)
        outside = img[ring].mean(axis=0)
        # colour jitter is +-20 per channel, plus JPEG error
        assert np.abs(inside - colour).max() < 30
        assert np.abs(outside - colour).max() > 40


def test_options(tmp_path):
    info = make_synthetic_coco(
        str(tmp_path), num_train=5, num_val=0, image_size=64, seed=1,
        classes=('circle', 'star'), max_objects=1)
    coco = COCO(info['train_ann_file'])
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == [
        'circle', 'star'
    ]
    assert info['num_train_instances'] == 5
    assert info['num_val_images'] == info['num_val_instances'] == 0
    img = cv2.imread(osp.join(info['train_img_dir'], '000000000001.jpg'))
    assert img.shape == (64, 64, 3)
    with pytest.raises(ValueError):
        make_synthetic_coco(str(tmp_path), classes=('square', 'person'))


def test_mmdet_coco_dataset_loads_it(dataset):
    pytest.importorskip('mmcv')
    from mmdet.datasets import CocoDataset
    for split in SPLITS:
        ds = CocoDataset(
            data_root=dataset['data_root'],
            ann_file=f'annotations/instances_{split}2017.json',
            data_prefix=dict(img=f'{split}2017/'),
            metainfo=dict(classes=DEFAULT_CLASSES),
            pipeline=[],
            test_mode=False,
            lazy_init=False)
        assert len(ds) == dataset[f'num_{split}_images']
        infos = [ds.get_data_info(i) for i in range(len(ds))]
        instances = [inst for info in infos for inst in info['instances']]
        assert len(instances) == dataset[f'num_{split}_instances']
        assert all(inst['ignore_flag'] == 0 for inst in instances)
        assert {inst['bbox_label'] for inst in instances} == {0, 1, 2}
        assert all(osp.isfile(info['img_path']) for info in infos)
