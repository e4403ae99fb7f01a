"""Tests for mona_mm.testing.voc: the VOCdevkit layout and XML schema, as mmdet's
VOCDataset (with our config's settings) and VOCMetric read them."""
import os
import os.path as osp
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from pycocotools import mask as mask_utils

from mona_mm.testing import DEFAULT_VOC_CLASSES, VOC_CLASSES, make_synthetic_voc
from mona_mm.testing.scenes import PALETTE
from mona_mm.testing.voc import voc_box
from tests.helpers import all_files

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'voc', 'retinanet_swin-l-mona_8xb2-1x_voc0712.py')


def _read_list(path):
    with open(path) as f:
        return f.read().split()


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    root = tmp_path_factory.mktemp('VOCdevkit')
    return make_synthetic_voc(str(root), num_trainval_2007=8, num_test_2007=6,
                              num_trainval_2012=6, difficult_ratio=0.2, seed=2)


def test_layout_and_image_sets(voc):
    root = voc['data_root']
    assert sorted(os.listdir(root)) == ['VOC2007', 'VOC2012']
    for year, sets in (('VOC2007', ['test', 'train', 'trainval', 'val']),
                       ('VOC2012', ['train', 'trainval', 'val'])):
        base = osp.join(root, year)
        assert sorted(os.listdir(base)) == ['Annotations', 'ImageSets', 'JPEGImages']
        main = osp.join(base, 'ImageSets', 'Main')
        assert sorted(os.listdir(main)) == [f'{s}.txt' for s in sets]
        lists = {s: _read_list(osp.join(main, f'{s}.txt')) for s in sets}
        assert lists['trainval'] == lists['train'] + lists['val']
        ids = lists['trainval'] + lists.get('test', [])
        assert len(set(ids)) == len(ids)
        assert sorted(os.listdir(osp.join(base, 'JPEGImages'))) == sorted(f'{i}.jpg' for i in ids)
        assert sorted(os.listdir(osp.join(base, 'Annotations'))) == sorted(f'{i}.xml' for i in ids)
        for s in sets:
            assert lists[s] == voc[f'{year}_{s}_ids']
    assert voc['VOC2007_trainval_ids'][0] == '000001'
    assert voc['VOC2007_test_ids'][0] == '000009'
    assert voc['VOC2012_trainval_ids'][0] == '2008_000001'


def test_voc_box_is_one_based_and_inclusive():
    mask = np.zeros((40, 50), np.uint8, order='F')
    mask[10:20, 5:15] = 1  # rows 10..19, columns 5..14 (0-based)
    assert voc_box(mask_utils.encode(mask)) == (6, 11, 15, 20)


def test_xml_schema_and_boxes_on_the_objects(voc):
    """Every field mmdet and the VOC devkit read is there; each box lies on its object."""
    colours = {name: np.array(PALETTE[i]) for i, (name, _) in enumerate(DEFAULT_VOC_CLASSES)}
    n_objects = n_difficult = 0
    for year in ('VOC2007', 'VOC2012'):
        base = osp.join(voc['data_root'], year)
        for xml_name in sorted(os.listdir(osp.join(base, 'Annotations'))):
            root = ET.parse(osp.join(base, 'Annotations', xml_name)).getroot()
            assert root.tag == 'annotation' and root.findtext('folder') == year
            img_file = root.findtext('filename')
            assert img_file == xml_name.replace('.xml', '.jpg')
            img = cv2.imread(osp.join(base, 'JPEGImages', img_file)).astype(np.float64)
            size = root.find('size')
            assert (int(size.findtext('width')), int(size.findtext('height')),
                    int(size.findtext('depth'))) == (img.shape[1], img.shape[0], 3)
            assert root.findtext('segmented') == '0'
            objects = root.findall('object')
            assert 1 <= len(objects) <= 3
            for obj in objects:
                name = obj.findtext('name')
                assert name in VOC_CLASSES and name in colours
                assert obj.findtext('pose') and obj.findtext('truncated') == '0'
                difficult = int(obj.findtext('difficult'))
                n_objects += 1
                n_difficult += difficult
                x1, y1, x2, y2 = (int(obj.find('bndbox').findtext(k))
                                  for k in ('xmin', 'ymin', 'xmax', 'ymax'))
                assert 1 <= x1 < x2 <= img.shape[1] and 1 <= y1 < y2 <= img.shape[0]
                assert min(x2 - x1, y2 - y1) + 1 >= 32  # none is ignored by bbox_min_size=32
                box = img[y1 - 1:y2, x1 - 1:x2]  # 1-based inclusive -> 0-based slice
                near = np.abs(box - colours[name]).max(axis=2) < 30  # jitter 20 + JPEG
                assert near.mean() > 0.3  # a triangle fills half its box, a circle 79%
    assert n_objects == voc['VOC2007_num_objects'] + voc['VOC2012_num_objects']
    assert n_difficult == voc['VOC2007_num_difficult'] + voc['VOC2012_num_difficult'] > 0


def test_deterministic(tmp_path):
    kwargs = dict(num_trainval_2007=2, num_test_2007=1, num_trainval_2012=2)
    make_synthetic_voc(str(tmp_path / 'a'), seed=5, **kwargs)
    make_synthetic_voc(str(tmp_path / 'b'), seed=5, **kwargs)
    make_synthetic_voc(str(tmp_path / 'c'), seed=6, **kwargs)
    a, b, c = (all_files(str(tmp_path / n)) for n in 'abc')
    assert len(a) == 2 * 5 + 4 + 3  # images + xml, 07 and 12 split lists
    assert a == b
    images = [k for k in a if k.endswith('.jpg')]
    assert all(a[k] != c[k] for k in images)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="'square'"):
        make_synthetic_voc(str(tmp_path), classes=[('square', 'square')])  # not a VOC name
    with pytest.raises(ValueError, match='distinct VOC classes'):
        make_synthetic_voc(str(tmp_path), classes=[('boat', 'circle'), ('boat', 'square')])
    with pytest.raises(ValueError, match='distinct shapes'):
        make_synthetic_voc(str(tmp_path), classes=[('boat', 'circle'), ('cat', 'circle')])
    with pytest.raises(ValueError, match='difficult_ratio'):
        make_synthetic_voc(str(tmp_path), difficult_ratio=1.5)


def _host_datasets(voc):
    """mmdet's VOCDataset built with our config's settings (07+12 trainval, 07 test)."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope('mmdet')
    cfg = Config.fromfile(CONFIG)
    built = {}
    parts = [('VOC2007_trainval', d) for d in cfg.train_dataloader.dataset.dataset.datasets[:1]]
    parts += [('VOC2012_trainval', cfg.train_dataloader.dataset.dataset.datasets[1]),
              ('VOC2007_test', cfg.val_dataloader.dataset)]
    for key, ds_cfg in parts:
        ds_cfg = ds_cfg.copy()
        ds_cfg.update(type='VOCDataset', data_root=voc['data_root'], pipeline=[])
        built[key] = DATASETS.build(ds_cfg)
    return built


def test_mmdet_voc_dataset_reads_it_through_our_config(voc):
    label_of = {name: VOC_CLASSES.index(name) for name in voc['classes']}
    totals = {'VOC2007': [0, 0], 'VOC2012': [0, 0]}
    for key, ds in _host_datasets(voc).items():
        year = key.split('_')[0]
        assert ds.metainfo['dataset_type'] == year  # what VOCMetric keys its VOC mode on
        assert len(ds) == len(voc[f'{key}_ids'])
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            assert osp.isfile(info['img_path'])
            assert info['width'] == info['height'] == 192
            for inst in info['instances']:
                assert inst['bbox_label'] in label_of.values()
                totals[year][0] += 1
                totals[year][1] += inst['ignore_flag']
    for year, (n, ignored) in totals.items():
        assert n == voc[f'{year}_num_objects']
        assert ignored == voc[f'{year}_num_difficult']  # difficult -> ignored, none too small


def test_voc_metric_scores_the_ground_truth_as_perfect(voc):
    """The boxes survive mmdet's loading and the VOC07 11-point mAP: the ground truth as
    predictions scores 1.0 (difficult objects are ignored, as in the VOC devkit)."""
    from mmdet.evaluation import VOCMetric
    from mmdet.registry import TRANSFORMS
    test_set = _host_datasets(voc)['VOC2007_test']
    load = TRANSFORMS.build(dict(type='LoadAnnotations', with_bbox=True))
    pack = TRANSFORMS.build(dict(type='PackDetInputs'))
    metric = VOCMetric(metric='mAP', eval_mode='11points')
    metric.dataset_meta = test_set.metainfo
    for i in range(len(test_set)):
        info = test_set.get_data_info(i)
        info.update(img=np.zeros((info['height'], info['width'], 3), np.uint8),
                    img_shape=(info['height'], info['width']), ori_shape=(192, 192))
        sample = pack(load(info))['data_samples']
        out = sample.to_dict()
        out['pred_instances'] = dict(
            bboxes=sample.gt_instances.bboxes.tensor
            if hasattr(sample.gt_instances.bboxes, 'tensor') else sample.gt_instances.bboxes,
            scores=torch.ones(len(sample.gt_instances)),
            labels=sample.gt_instances.labels)
        metric.process({}, [out])
    result = metric.evaluate(len(test_set))
    assert result['pascal_voc/mAP'] == pytest.approx(1.0)
