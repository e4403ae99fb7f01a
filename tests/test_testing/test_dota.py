"""Tests for mona_mm.testing.dota: the DOTA and STAR split layouts, as mmrotate reads them."""
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
from shapely.geometry import Polygon, box

import mona_mm.rotate  # noqa: F401  (mmrotate's import shims; import mona_mm leaves them out)
from mona_mm.rotate.star import dota_kwargs
from mona_mm.testing import DOTA_DEFAULT_CLASSES, STAR_DEFAULT_CLASSES, make_synthetic_dota
from mona_mm.testing.scenes import ASPECT_RATIOS, PALETTE
from tests.helpers import all_files

PATCH_NAME = re.compile(r'^P\d{4}__128__0___0$')  # the split tool's <image>__<size>__<x>___<y>


def _read_labels(path):
    """[(corners (4, 2), class name, difficulty)] of one annfile."""
    objects = []
    with open(path) as f:
        for line in f:
            items = line.split()
            assert len(items) == 10, line
            objects.append((np.array(items[:8], float).reshape(4, 2), items[8], int(items[9])))
    return objects


def _stems(folder):
    return sorted(osp.splitext(n)[0] for n in os.listdir(folder))


@pytest.fixture(scope='module')
def dota(tmp_path_factory):
    return make_synthetic_dota(str(tmp_path_factory.mktemp('tiny_dota')), num_train=24,
                               num_val=8, num_test=4)


@pytest.fixture(scope='module')
def star(tmp_path_factory):
    return make_synthetic_dota(str(tmp_path_factory.mktemp('tiny_star')), num_train=6,
                               num_val=4, star=True)


def test_dota_layout_and_return_value(dota):
    root = dota['data_root']
    assert dota['layout'] == 'dota' and dota['classes'] == DOTA_DEFAULT_CLASSES
    assert sorted(os.listdir(root)) == ['test', 'trainval', 'val']
    assert sorted(os.listdir(osp.join(root, 'test'))) == ['images']  # unlabelled, as DOTA's
    assert dota['test_ann_dir'] is None
    all_names = []
    for split in ('trainval', 'val'):
        assert sorted(os.listdir(osp.join(root, split))) == ['annfiles', 'images']
        img_dir, ann_dir = dota[f'{split}_img_dir'], dota[f'{split}_ann_dir']
        assert (img_dir, ann_dir) == (osp.join(root, split, 'images'),
                                      osp.join(root, split, 'annfiles'))
        assert all(n.endswith('.png') for n in os.listdir(img_dir))
        assert all(n.endswith('.txt') for n in os.listdir(ann_dir))
        names = _stems(img_dir)
        assert names == _stems(ann_dir)
        assert len(names) == dota[f'num_{split}_images']
        objects = [o for n in names for o in _read_labels(osp.join(ann_dir, n + '.txt'))]
        assert len(objects) == dota[f'num_{split}_instances']
        assert all(1 <= len(_read_labels(osp.join(ann_dir, n + '.txt'))) <= 3 for n in names)
        assert {name for _, name, _ in objects} == set(DOTA_DEFAULT_CLASSES)
        assert {diff for _, _, diff in objects} == {0}
        all_names += names
    all_names += _stems(dota['test_img_dir'])
    assert len(all_names) == len(set(all_names)) == 24 + 8 + 4  # unique across splits
    assert all(PATCH_NAME.match(n) for n in all_names)


def test_star_layout(star):
    root = star['data_root']
    assert star['layout'] == 'star' and star['classes'] == STAR_DEFAULT_CLASSES
    assert sorted(os.listdir(root)) == ['test', 'train']
    for split, num in (('train', 6), ('test', 4)):  # both labelled
        assert sorted(os.listdir(osp.join(root, split))) == ['annfiles', 'images']
        assert len(_stems(star[f'{split}_img_dir'])) == num
        assert _stems(star[f'{split}_img_dir']) == _stems(star[f'{split}_ann_dir'])


def test_deterministic(tmp_path):
    kwargs = dict(num_train=4, num_val=2, num_test=2, image_size=96)
    make_synthetic_dota(str(tmp_path / 'a'), seed=3, **kwargs)
    make_synthetic_dota(str(tmp_path / 'b'), seed=3, **kwargs)
    make_synthetic_dota(str(tmp_path / 'c'), seed=4, **kwargs)
    a, b, c = (all_files(str(tmp_path / n)) for n in 'abc')
    assert len(a) == 2 * 4 + 2 * 2 + 2
    assert a == b
    assert a.keys() == c.keys() and all(a[k] != c[k] for k in a)
    # each split has its own stream: a larger training split leaves the contents of val/ and
    # test/ unchanged (their names shift, as image names are unique across splits)
    make_synthetic_dota(str(tmp_path / 'd'), seed=3, **dict(kwargs, num_train=5))
    d = all_files(str(tmp_path / 'd'))
    for split in ('val/', 'test/'):
        assert [d[k] for k in sorted(d) if k.startswith(split)] == [
            a[k] for k in sorted(a) if k.startswith(split)]


@pytest.mark.parametrize('split', ['trainval', 'val'])
def test_objects_are_rotated_rectangles_of_their_class(dota, split):
    ann_dir = dota[f'{split}_ann_dir']
    angles = []
    for name in _stems(ann_dir):
        polys = []
        for corners, cls, _ in _read_labels(osp.join(ann_dir, name + '.txt')):
            edges = np.roll(corners, -1, axis=0) - corners
            lengths = np.linalg.norm(edges, axis=1)
            # a rectangle: opposite sides equal, adjacent sides perpendicular (0.01 px rounding)
            np.testing.assert_allclose(lengths[:2], lengths[2:], atol=0.05)
            assert abs(np.dot(edges[0], edges[1])) < 0.05 * lengths[0] * lengths[1]
            aspect = ASPECT_RATIOS[DOTA_DEFAULT_CLASSES.index(cls)]
            assert max(lengths[:2]) / min(lengths[:2]) == pytest.approx(aspect, rel=0.01)
            assert 0.3 * 128 - 0.1 <= max(lengths) <= 0.55 * 128 + 0.1
            # clockwise on screen (y down) = positive shoelace sum
            x, y = corners[:, 0], corners[:, 1]
            assert np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y) > 0
            long_edge = edges[0] if lengths[0] >= lengths[1] else edges[1]
            angles.append(np.degrees(np.arctan2(long_edge[1], long_edge[0])) % 180)
            polys.append(Polygon(corners))
        for i, p in enumerate(polys):
            assert box(0, 0, 128, 128).contains(p), 'objects lie inside the patch'
            assert all(p.intersection(q).area == 0 for q in polys[i + 1:]), 'no overlaps'
    # orientations are spread over the half turn, not axis-aligned
    assert np.ptp(angles) > 120 and np.mean(np.minimum(np.array(angles) % 90,
                                                        90 - np.array(angles) % 90)) > 10


def test_pixels_show_the_labelled_objects(dota):
    """Each polygon's interior has its class colour; the ring just outside does not."""
    img_dir, ann_dir = dota['trainval_img_dir'], dota['trainval_ann_dir']
    kernel = np.ones((3, 3), np.uint8)
    for name in _stems(ann_dir):
        img = cv2.imread(osp.join(img_dir, name + '.png')).astype(np.float64)
        assert img.shape == (128, 128, 3)
        for corners, cls, _ in _read_labels(osp.join(ann_dir, name + '.txt')):
            mask = np.zeros(img.shape[:2], np.uint8)
            cv2.fillPoly(mask, [np.round(corners).astype(np.int32)], 1)
            inner = cv2.erode(mask, kernel, iterations=2).astype(bool)
            ring = (cv2.dilate(mask, kernel, iterations=3) -
                    cv2.dilate(mask, kernel)).astype(bool)
            colour = np.array(PALETTE[DOTA_DEFAULT_CLASSES.index(cls)])
            assert np.abs(img[inner].mean(axis=0) - colour).max() < 25  # jitter +-20
            assert np.abs(img[ring].mean(axis=0) - colour).max() > 40


def test_options_and_errors(tmp_path):
    info = make_synthetic_dota(str(tmp_path / 'x'), num_train=3, num_val=0, num_test=0,
                               image_size=64, seed=1, classes=('plane', 'ship'), max_objects=1)
    assert info['classes'] == ('plane', 'ship')
    names = _stems(info['trainval_ann_dir'])
    assert len(names) == 3 and all(n.endswith('__64__0___0') for n in names)
    assert all(len(_read_labels(osp.join(info['trainval_ann_dir'], n + '.txt'))) == 1
               for n in names)
    assert cv2.imread(osp.join(info['trainval_img_dir'], names[0] + '.png')).shape == (64, 64, 3)
    for bad in (('small vehicle',), ('ship', 'ship'), ('',), ('ship\t',)):
        with pytest.raises(ValueError, match='class names'):
            make_synthetic_dota(str(tmp_path / 'y'), classes=bad)
    with pytest.raises(ValueError):
        make_synthetic_dota(str(tmp_path / 'y'), image_size=8)


def test_mmrotate_dota_dataset_reads_it(dota):
    """mmrotate's own DOTADataset reads every split with the right labels."""
    from mmrotate.datasets import DOTADataset
    dota_classes = DOTADataset.METAINFO['classes']
    assert set(DOTA_DEFAULT_CLASSES) <= set(dota_classes)
    for split in ('trainval', 'val'):
        ds = DOTADataset(**dota_kwargs(dict(  # img_shape where mmrotate takes it (1.0.0rc1)
            data_root=dota['data_root'], ann_file=f'{split}/annfiles/',
            data_prefix=dict(img_path=f'{split}/images/'), img_shape=(128, 128), pipeline=[],
            lazy_init=False)))
        infos = [ds.get_data_info(i) for i in range(len(ds))]
        assert len(infos) == dota[f'num_{split}_images']
        instances = [inst for info in infos for inst in info['instances']]
        assert len(instances) == dota[f'num_{split}_instances']
        assert {inst['bbox_label'] for inst in instances} == {
            dota_classes.index(c) for c in DOTA_DEFAULT_CLASSES}
        assert all(osp.isfile(info['img_path']) for info in infos)
    # the unlabelled test split, as the DOTA test-server route reads it (ann_file '')
    ds = DOTADataset(data_root=dota['data_root'], ann_file='',
                     data_prefix=dict(img_path='test/images/'), test_mode=True, pipeline=[])
    assert sorted(ds.get_data_info(i)['img_id'] for i in range(len(ds))) == _stems(
        dota['test_img_dir'])
