"""Tests for mona_mm.testing.seg: the real layouts, as mmseg's own dataset classes and
our configs read them."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mona_mm.testing import SEG_LAYOUTS, make_synthetic_seg
from mona_mm.testing.scenes import PALETTE
from tests.helpers import all_files

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the real configs whose dataset settings (type, folders, reduce_zero_label) the fixtures must fit
CONFIGS = {
    'ade20k': 'configs/ade20k/upernet_swin-l-mona_8xb2-160k_ade20k-512x512.py',
    'potsdam': 'configs/potsdam/upernet_swin-l-mona_8xb2-80k_potsdam-512x512.py',
    'loveda': 'configs/loveda/upernet_swin-l-mona_8xb2-80k_loveda-512x512.py',
}
HOST_CLASSES = {'ade20k': 'ADE20KDataset', 'potsdam': 'PotsdamDataset', 'loveda': 'LoveDADataset'}
NUM_TRAIN, NUM_VAL = 10, 4


@pytest.fixture(scope='module', params=sorted(SEG_LAYOUTS))
def generated(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f'tiny_{request.param}')
    return make_synthetic_seg(str(root), request.param, num_train=NUM_TRAIN, num_val=NUM_VAL,
                              image_size=96, seed=1)


def test_layout_names_and_formats(generated):
    name = generated['dataset']
    layout = SEG_LAYOUTS[name]
    expected_top = {'ade20k': ['annotations', 'images'], 'potsdam': ['ann_dir', 'img_dir'],
                    'loveda': ['ann_dir', 'img_dir']}[name]
    assert sorted(os.listdir(generated['data_root'])) == expected_top
    first = {
        'ade20k': ('ADE_train_00000001', 'ADE_val_00000001'),
        'potsdam': ('2_10_0_0_96_96', '2_13_0_0_96_96'),
        'loveda': ('0', '2522'),
    }[name]
    for (split, _, _), num, stem in zip(layout.splits, (NUM_TRAIN, NUM_VAL), first):
        imgs = sorted(os.listdir(generated[f'{split}_img_dir']))
        anns = sorted(os.listdir(generated[f'{split}_ann_dir']))
        assert len(imgs) == len(anns) == num == generated[f'num_{split}_images']
        assert all(i.endswith(layout.img_suffix) for i in imgs)
        assert [osp.splitext(i)[0] for i in imgs] == [osp.splitext(a)[0] for a in anns]
        assert stem + layout.img_suffix in imgs
        for img_name, ann_name in zip(imgs, anns):
            img = cv2.imread(osp.join(generated[f'{split}_img_dir'], img_name),
                             cv2.IMREAD_UNCHANGED)
            ann = cv2.imread(osp.join(generated[f'{split}_ann_dir'], ann_name),
                             cv2.IMREAD_UNCHANGED)
            assert img.shape == (96, 96, 3) and img.dtype == np.uint8
            assert ann.shape == (96, 96) and ann.dtype == np.uint8  # single-channel indices


def test_label_values_cover_the_dataset_range(generated):
    layout = SEG_LAYOUTS[generated['dataset']]
    values = set(generated['shape_labels'].values())
    assert values == set(range(2, min(layout.num_classes, 7) + 1))
    counts = generated['train_label_counts']
    assert set(counts) <= {0, layout.background} | values
    assert max(counts) <= layout.num_classes
    assert counts[0] > 0 and counts[layout.background] > counts[0]  # rings, background
    assert len(set(counts) & values) >= 3  # several shape classes occur


def test_pixels_show_the_labelled_classes(generated):
    """A shape's pixels carry its class colour; the unlabelled ring separates it."""
    split_img, split_ann = generated['train_img_dir'], generated['train_ann_dir']
    colour_of = {v: np.array(PALETTE[i]) for i, v in enumerate(generated['shape_labels'].values())}
    kernel = np.ones((3, 3), np.uint8)
    for img_name, ann_name in zip(sorted(os.listdir(split_img)), sorted(os.listdir(split_ann))):
        img = cv2.imread(osp.join(split_img, img_name)).astype(np.float64)
        ann = cv2.imread(osp.join(split_ann, ann_name), cv2.IMREAD_UNCHANGED)
        for value, colour in colour_of.items():
            mask = (ann == value).astype(np.uint8)
            if not mask.any():
                continue
            inner = cv2.erode(mask, kernel).astype(bool)
            assert np.abs(img[inner].mean(axis=0) - colour).max() < 30  # jitter 20 + JPEG
            ring = (cv2.dilate(mask, kernel) - mask).astype(bool)
            assert (ann[ring] == 0).all()


def test_deterministic(tmp_path):
    make_synthetic_seg(str(tmp_path / 'a'), 'loveda', num_train=3, num_val=2, seed=3)
    make_synthetic_seg(str(tmp_path / 'b'), 'loveda', num_train=3, num_val=2, seed=3)
    make_synthetic_seg(str(tmp_path / 'c'), 'loveda', num_train=3, num_val=2, seed=4)
    a, b, c = (all_files(str(tmp_path / n)) for n in 'abc')
    assert len(a) == 2 * (3 + 2)
    assert a == b
    assert a.keys() == c.keys() and all(a[k] != c[k] for k in a)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='valid'):
        make_synthetic_seg(str(tmp_path), 'cityscapes')
    with pytest.raises(ValueError):
        make_synthetic_seg(str(tmp_path), 'ade20k', image_size=8)


def test_mmseg_dataset_class_reads_it_through_our_config(generated):
    """mmseg's own class, with our config's folders and reduce_zero_label, sees every sample
    and maps label k to class k - 1 and 0 to the ignore index 255."""
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope('mmseg')
    name = generated['dataset']
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[name]))
    for split, loader in (('train', cfg.train_dataloader), ('val', cfg.val_dataloader)):
        ds_cfg = loader.dataset.copy()
        ds_cfg.update(type=HOST_CLASSES[name], data_root=generated['data_root'],
                      pipeline=[dict(type='LoadAnnotations', reduce_zero_label=True)])
        ds = DATASETS.build(ds_cfg)
        assert len(ds) == generated[f'num_{split}_images']
        assert len(ds.metainfo['classes']) == SEG_LAYOUTS[name].num_classes
        counts = np.zeros(256, dtype=np.int64)
        for i in range(len(ds)):
            seg = ds[i]['gt_seg_map']
            assert seg.shape == (96, 96)
            counts += np.bincount(seg.ravel(), minlength=256)
        raw = generated[f'{split}_label_counts']
        assert counts[255] == raw[0]
        for value, n in raw.items():
            if value:
                assert counts[value - 1] == n
