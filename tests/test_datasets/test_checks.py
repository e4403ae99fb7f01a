"""A missing or malformed dataset gives an error naming the file (mona_mm.datasets.checks, and
the dataset types of mona_mm.det and mona_mm.seg that use it).

Each case is built the way the runner builds it: the dataset settings of our real configs,
through the host library's registry, on a generated fixture that is then broken.
"""
import copy
import functools
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mona_mm.testing import make_synthetic_seg, make_synthetic_voc

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ADE_CONFIG = osp.join(ROOT, 'configs', 'ade20k', 'upernet_swin-l-mona_8xb2-160k_ade20k-512x512.py')
POTSDAM_CONFIG = osp.join(ROOT, 'configs', 'potsdam',
                          'upernet_swin-l-mona_8xb2-80k_potsdam-512x512.py')
VOC_CONFIG = osp.join(ROOT, 'configs', 'voc', 'retinanet_swin-l-mona_8xb2-1x_voc0712.py')


@functools.lru_cache(maxsize=None)
def _config(path):
    return Config.fromfile(path)  # about a second each: the mmseg::/mmdet:: bases are parsed


def _seg_dataset(config, data_root, split='train', **overrides):
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope('mmseg')
    cfg = _config(config)
    loader = cfg.train_dataloader if split == 'train' else cfg.val_dataloader
    ds_cfg = copy.deepcopy(loader.dataset)
    ds_cfg.update(data_root=str(data_root), **overrides)
    return DATASETS.build(ds_cfg)


def _voc_dataset(data_root, which=0, **overrides):
    """which: 0/1 the VOC2007/VOC2012 trainval set of the training ConcatDataset, 'test' the
    VOC2007 test set."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope('mmdet')
    cfg = _config(VOC_CONFIG)
    ds_cfg = (cfg.val_dataloader.dataset if which == 'test' else
              cfg.train_dataloader.dataset.dataset.datasets[which])
    ds_cfg = copy.deepcopy(ds_cfg)
    ds_cfg.update(data_root=str(data_root), **overrides)
    return DATASETS.build(ds_cfg)


@pytest.fixture
def ade(tmp_path):
    return make_synthetic_seg(str(tmp_path / 'ade'), 'ade20k', num_train=3, num_val=2,
                              image_size=64)


@pytest.fixture
def voc(tmp_path):
    return make_synthetic_voc(str(tmp_path / 'VOCdevkit'), num_trainval_2007=3, num_test_2007=2,
                              num_trainval_2012=2)


def test_configs_use_the_checked_types():
    assert _config(ADE_CONFIG).train_dataloader.dataset.type == 'CheckedADE20KDataset'
    assert _config(POTSDAM_CONFIG).val_dataloader.dataset.type == 'CheckedPotsdamDataset'
    cfg = _config(VOC_CONFIG)
    assert {d.type for d in cfg.train_dataloader.dataset.dataset.datasets} == {'CheckedVOCDataset'}
    assert cfg.test_dataloader.dataset.type == 'CheckedVOCDataset'


def test_checked_datasets_read_good_data_like_the_host_classes(ade, voc):
    for split in ('train', 'val'):
        ours = _seg_dataset(ADE_CONFIG, ade['data_root'], split)
        host = _seg_dataset(ADE_CONFIG, ade['data_root'], split, type='ADE20KDataset')
        assert type(ours).__name__ == 'CheckedADE20KDataset' and len(ours) == len(host) > 0
        assert [ours.get_data_info(i) for i in range(len(ours))] == [
            host.get_data_info(i) for i in range(len(host))]
        assert ours.metainfo == host.metainfo
    for which in (0, 1, 'test'):
        ours = _voc_dataset(voc['data_root'], which)
        host = _voc_dataset(voc['data_root'], which, type='VOCDataset')
        assert len(ours) == len(host) > 0
        assert [ours.get_data_info(i) for i in range(len(ours))] == [
            host.get_data_info(i) for i in range(len(host))]
        assert ours.metainfo == host.metainfo


# ------------------------------------------------------------------------ segmentation
def test_seg_missing_data_root_is_named(tmp_path):
    missing = tmp_path / 'no_such_ade'
    with pytest.raises(FileNotFoundError, match=re.escape(f'data_root {missing}')):
        _seg_dataset(ADE_CONFIG, missing)


def test_seg_empty_image_folder_is_named(ade):
    img_dir = ade['val_img_dir']
    for name in os.listdir(img_dir):
        os.rename(osp.join(img_dir, name), osp.join(img_dir, name[:-4] + '.png'))  # wrong suffix
    with pytest.raises(FileNotFoundError, match=re.escape(img_dir) + r'.*\*\.jpg'):
        _seg_dataset(ADE_CONFIG, ade['data_root'], 'val')


def test_seg_label_of_wrong_size_names_both_files(ade):
    ds = _seg_dataset(ADE_CONFIG, ade['data_root'], 'val')
    label = osp.join(ade['val_ann_dir'], 'ADE_val_00000002.png')
    cv2.imwrite(label, np.ones((50, 60), np.uint8))
    ds[0]  # the other samples still load
    with pytest.raises(ValueError) as err:
        ds[1]
    msg = str(err.value)
    assert label in msg and '60x50' in msg
    assert osp.join(ade['val_img_dir'], 'ADE_val_00000002.jpg') in msg and '64x64' in msg


def test_seg_colour_label_names_the_file_and_the_converter(tmp_path):
    info = make_synthetic_seg(str(tmp_path / 'potsdam'), 'potsdam', num_train=2, num_val=1,
                              image_size=32)
    label = osp.join(info['train_ann_dir'], os.listdir(info['train_ann_dir'])[0])
    cv2.imwrite(label, np.full((32, 32, 3), 255, np.uint8))  # like a raw ISPRS colour label
    ds = _seg_dataset(POTSDAM_CONFIG, info['data_root'])
    with pytest.raises(ValueError, match=re.escape(label) + ".*'RGB'.*dataset_converters"):
        for i in range(len(ds)):
            ds[i]


def test_seg_missing_label_is_named(ade):
    label = osp.join(ade['train_ann_dir'], 'ADE_train_00000003.png')
    os.remove(label)
    ds = _seg_dataset(ADE_CONFIG, ade['data_root'])
    with pytest.raises(FileNotFoundError, match=re.escape(label)):
        ds[2]


# ------------------------------------------------------------------------ VOC
def test_voc_missing_data_root_is_named(tmp_path):
    missing = tmp_path / 'VOCdevkit'
    with pytest.raises(FileNotFoundError, match=re.escape(f'data_root {missing}')):
        _voc_dataset(missing)


def test_voc_missing_image_set_is_named(voc):
    image_set = osp.join(voc['data_root'], 'VOC2012', 'ImageSets', 'Main', 'trainval.txt')
    os.remove(image_set)
    with pytest.raises(FileNotFoundError, match=re.escape(image_set)):
        _voc_dataset(voc['data_root'], 1)


def test_voc_empty_image_set_is_named(voc):
    image_set = osp.join(voc['data_root'], 'VOC2007', 'ImageSets', 'Main', 'test.txt')
    open(image_set, 'w').close()
    with pytest.raises(FileNotFoundError, match=re.escape(image_set)):
        _voc_dataset(voc['data_root'], 'test')


@pytest.mark.parametrize('content', [
    '<annotation><size><width>192</width>',  # truncated
    '<annotation><object><name>boat</name><difficult>0</difficult></object></annotation>',
    '<annotation><object><name>boat</name><bndbox><xmin>a</xmin></bndbox></object></annotation>',
], ids=['truncated', 'no-bndbox', 'non-numeric'])
def test_voc_malformed_xml_is_named(voc, content):
    xml = osp.join(voc['data_root'], 'VOC2007', 'Annotations', voc['VOC2007_test_ids'][1] + '.xml')
    with open(xml, 'w') as f:
        f.write(content)
    with pytest.raises(ValueError, match=re.escape(xml)):
        _voc_dataset(voc['data_root'], 'test')


def test_voc_missing_xml_is_named(voc):
    xml = osp.join(voc['data_root'], 'VOC2012', 'Annotations', voc['VOC2012_trainval_ids'][0] +
                   '.xml')
    os.remove(xml)
    with pytest.raises(FileNotFoundError, match=re.escape(xml)):
        _voc_dataset(voc['data_root'], 1)


def test_voc_filter_removing_everything_is_explained(voc):
    with pytest.raises(ValueError, match=r'filter_cfg=.*removed all 3 samples.*trainval\.txt'):
        _voc_dataset(voc['data_root'], 0, filter_cfg=dict(filter_empty_gt=True, min_size=1000))


# ------------------------------------------------------------------------ through the tools
def test_train_tool_names_a_missing_data_root(tmp_path):
    """What a user sees: tools/train.py on a config whose data_root does not exist."""
    missing = tmp_path / 'data' / 'ade' / 'ADEChallengeData2016'
    config = osp.join(ROOT, 'configs', 'tiny', 'upernet_swin-mona_tiny-ade20k.py')
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
               OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', f'train_dataloader.dataset.data_root={missing}'],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert f'FileNotFoundError: CheckedADE20KDataset: data_root {missing} does not exist' in (
        result.stderr)
    shutil.rmtree(tmp_path / 'work', ignore_errors=True)
