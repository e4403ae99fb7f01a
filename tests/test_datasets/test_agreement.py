"""Classes, heads, evaluators and checkpoints of a run agree before it starts, or one message names
both sides and the key to set (mona_mm.datasets.agreement, through the runner's check and the
COCO dataset type our configs use)."""
import copy
import functools
import json
import os.path as osp

import pytest
from mmengine.config import Config

from mona_mm.datasets.agreement import ClassMismatchError
from mona_mm.runner import check_data_agreement, dataset_class_getter
from mona_mm.testing import make_synthetic_coco
from tests.helpers import ROOT
from tests.test_reliability.logcapture import logged

TINY_COCO = osp.join(ROOT, 'configs', 'tiny', 'mask-rcnn_swin-mona_tiny-coco.py')
TINY_ADE = osp.join(ROOT, 'configs', 'tiny', 'upernet_swin-mona_tiny-ade20k.py')
PETS = ('cat', 'dog')


@functools.lru_cache(maxsize=None)
def _config(path):
    return Config.fromfile(path)


def config(path=TINY_COCO):
    return copy.deepcopy(_config(path))


def own_classes(cfg, classes, loaders=('train_dataloader', 'val_dataloader', 'test_dataloader')):
    for loader in loaders:
        cfg[loader].dataset.metainfo = dict(classes=classes)


def test_our_configs_agree():
    for path in (TINY_COCO, TINY_ADE):
        check_data_agreement(config(path), 'train')
        check_data_agreement(config(path), 'test')


def test_a_head_with_another_num_classes_is_named():
    cfg = config()
    own_classes(cfg, PETS)
    with pytest.raises(ClassMismatchError) as error:
        check_data_agreement(cfg, 'train')
    message = str(error.value)
    assert 'model.roi_head.bbox_head.num_classes = 3, model.roi_head.mask_head.num_classes = 3' \
        in message
    assert "has 2 classes ('cat', 'dog')" in message and 'to 2' in message
    cfg.model.roi_head.bbox_head.num_classes = cfg.model.roi_head.mask_head.num_classes = 2
    check_data_agreement(cfg, 'train')
    cfg.model.roi_head.bbox_head.num_classes = 3
    cfg.check_num_classes = False  # a head with its own count, on purpose
    check_data_agreement(cfg, 'train')


def test_a_segmentation_head_is_checked_too():
    cfg = config(TINY_ADE)
    cfg.model.auxiliary_head.num_classes = 19
    with pytest.raises(ClassMismatchError, match=r'model.auxiliary_head.num_classes = 19, but '
                       r'the dataset \(train_dataloader.dataset\) has 150 classes'):
        check_data_agreement(cfg, 'train')


def test_train_and_val_sets_of_other_classes_are_named():
    cfg = config()
    own_classes(cfg, PETS, loaders=('train_dataloader', ))
    with pytest.raises(ClassMismatchError, match=r"val_dataloader.dataset has 3 classes .* but "
                       r"train_dataloader.dataset has 2 classes \('cat', 'dog'\)"):
        check_data_agreement(cfg, 'train')


def test_a_test_loader_left_on_the_base_set_is_named():
    """The trap of the issue: val_dataloader replaced, test_dataloader still the base's."""
    cfg = config()
    own_classes(cfg, PETS, loaders=('train_dataloader', 'val_dataloader'))
    cfg.val_dataloader.dataset.ann_file = 'annotations/pets_val.json'
    cfg.model.roi_head.bbox_head.num_classes = cfg.model.roi_head.mask_head.num_classes = 2
    with logged() as records, pytest.raises(ClassMismatchError, match='test_dataloader'):
        check_data_agreement(cfg, 'test')
    lines = [m for _, m in records]
    assert any("test_dataloader.dataset.ann_file = 'annotations/instances_val2017.json' differs "
               "from val_dataloader.dataset.ann_file = 'annotations/pets_val.json'" in m
               for m in lines)
    assert any("test_dataloader has 3 classes" in m and "val_dataloader 2 classes" in m
               for m in lines)


def test_an_evaluator_of_another_ground_truth_is_named():
    cfg = config()
    cfg.test_dataloader.dataset.data_root = 'data/elsewhere/'
    with pytest.raises(ClassMismatchError, match='test_evaluator.ann_file is data/tiny_coco/'
                       'annotations/instances_val2017.json, but test_dataloader.dataset reads '
                       'data/elsewhere/annotations/instances_val2017.json'):
        check_data_agreement(cfg, 'test')


def test_a_checkpoint_of_other_classes_is_named():
    from mona_mm.datasets.agreement import check_checkpoint_classes
    cfg = config()
    checkpoint = {'meta': {'dataset_meta': {'classes': PETS}}, 'state_dict': {}}
    with pytest.raises(ClassMismatchError, match=r"The checkpoint pets.pth was trained on 2 "
                       r"classes \('cat', 'dog'\), but test_dataloader.dataset has 3 classes"):
        check_checkpoint_classes(cfg, checkpoint, 'pets.pth', dataset_class_getter(cfg))
    own_classes(cfg, PETS)
    check_checkpoint_classes(cfg, checkpoint, 'pets.pth', dataset_class_getter(cfg))


def _coco_dataset(tmp_path, file_categories, classes):
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    data = make_synthetic_coco(str(tmp_path / 'coco'), num_train=2, num_val=1)
    path = data['train_ann_file']
    content = json.load(open(path))
    for cat, name in zip(content['categories'], file_categories):
        cat['name'] = name
    json.dump(content, open(path, 'w'))
    init_default_scope('mmdet')
    ds_cfg = copy.deepcopy(_config(TINY_COCO).train_dataloader.dataset)
    ds_cfg.update(data_root=data['data_root'], metainfo=dict(classes=classes))
    return DATASETS.build(ds_cfg), path


def test_coco_classes_that_are_no_category_of_the_file_are_named(tmp_path):
    with pytest.raises(ValueError) as error:
        _coco_dataset(tmp_path, ['Square', 'circle', 'tirangle'],
                      ('square', 'circle', 'triangle'))
    message = str(error.value)
    assert "2 of the dataset's 3 classes are not categories of" in message
    assert "close names: 'square' -> 'Square', 'triangle' -> 'tirangle'" in message
    assert 'filter_cfg' not in message and 'metainfo=dict(classes=' in message


def test_coco_categories_outside_the_classes_are_reported_dropped(tmp_path):
    with logged() as records:
        dataset, path = _coco_dataset(tmp_path, ['square', 'circle', 'triangle'],
                                      ('square', 'circle'))
    assert len(dataset) > 0
    assert any(f"annotations of 1 categories of {path} are dropped" in m and "'triangle'" in m
               for _, m in records)
