"""End to end on the generated tiny DOTA and STAR sets, through the README's own tools.

Runs tools/train.py and tools/test.py on the tiny Oriented R-CNN, rotated RetinaNet and STAR
configs (which inherit configs/dota and configs/star), the DOTA test-server route of
docs/oriented_detection.md, and mmrotate's split tool on raw DOTA-layout images. A few
iterations each: these check the rotated code path on a CPU (rotated anchors, RoIAlignRotated,
nms_rotated, box_iou_rotated, DOTAMetric), not accuracy.
"""
import os
import os.path as osp
import re
import shutil
import sys
import zipfile

import numpy as np
import pytest

import mona_mm.rotate  # noqa: F401  (mmrotate's import shims; import mona_mm leaves them out)
from mona_mm.rotate.star import dota_kwargs
from mona_mm.testing import DOTA_DEFAULT_CLASSES, make_synthetic_dota
from tests.helpers import ROOT, run

TINY = osp.join(ROOT, 'configs', 'tiny')
RCNN = osp.join(TINY, 'oriented-rcnn-le90_swin-mona_tiny-dota.py')
RETINA = osp.join(TINY, 'rotated-retinanet-rbox-le90_swin-mona_tiny-dota.py')
STAR = osp.join(TINY, 'oriented-rcnn-le90_swin-mona_tiny-star.py')
FAST = ['--cfg-options', 'train_cfg.max_epochs=2', 'train_cfg.val_interval=2',
        'default_hooks.logger.interval=1']
DOTA_MAP = re.compile(r'dota/mAP: ([0-9.]+)')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp('tiny_dota_ws')
    make_synthetic_dota(str(ws / 'data' / 'tiny_dota'), num_train=8, num_val=4, num_test=4)
    make_synthetic_dota(str(ws / 'data' / 'tiny_star'), num_train=8, num_val=4, star=True)
    return ws


def train(config, work_dir, cwd):
    return run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir',
                work_dir] + FAST, cwd)


def evaluate(config, checkpoint, cwd):
    return run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), config, checkpoint,
                '--work-dir', 'work_dirs/test'], cwd)


def assert_map_table(out, class_names):
    """DOTAMetric's per-class table and its mAP line."""
    for name in class_names:
        assert re.search(rf'\| {re.escape(name)} +\| +\d+ +\| +\d+ +\|', out), name
    values = [float(v) for v in DOTA_MAP.findall(out)]
    assert values and all(0 <= v <= 1 for v in values)


@pytest.fixture(scope='module')
def trained_rcnn(workspace):
    out = train(RCNN, 'work_dirs/rcnn', workspace)
    return workspace / 'work_dirs' / 'rcnn', out


def test_oriented_rcnn_trains_and_validates(trained_rcnn):
    work_dir, out = trained_rcnn
    assert 'Parameters by part' in out and 'backbone adapters' in out
    assert 'frozen backbone tensors are unchanged after training' in out
    assert 'Epoch(train) [2][2/2]' in out  # 8 images, batch 4, 2 epochs
    assert_map_table(out, DOTA_DEFAULT_CLASSES)  # validation on val/ ran
    assert (work_dir / 'epoch_2.pth').exists()


def test_test_tool_prints_dota_map(trained_rcnn, workspace):
    work_dir, _ = trained_rcnn
    out = evaluate(RCNN, str(work_dir / 'epoch_2.pth'), workspace)
    assert 'iou_thr: 0.5' in out
    assert_map_table(out, DOTA_DEFAULT_CLASSES)
    assert re.search(r'Epoch\(test\) \[1/1\].*dota/mAP: [0-9.]+', out)


def test_dota_test_server_submission(trained_rcnn, workspace):
    """The recipe of docs/oriented_detection.md: unlabelled test/ patches to a Task1 zip."""
    work_dir, _ = trained_rcnn
    config = workspace / 'dota_submission.py'
    config.write_text(
        f'_base_ = [{RCNN!r}]\n'
        'test_dataloader = dict(\n'
        "    dataset=dict(ann_file='', data_prefix=dict(img_path='test/images/'),\n"
        '                 pipeline={{_base_.test_pipeline}}))\n'
        'test_evaluator = dict(format_only=True, merge_patches=True,\n'
        "                      outfile_prefix='work_dirs/submission/Task1')\n")
    out = evaluate(str(config), str(work_dir / 'epoch_2.pth'), workspace)
    task1 = workspace / 'work_dirs' / 'submission' / 'Task1'
    assert 'The submission file save at' in out
    with zipfile.ZipFile(task1 / 'Task1.zip') as z:
        assert sorted(z.namelist()) == sorted(f'Task1_{c}.txt' for c in DOTA_DEFAULT_CLASSES)
    lines = [line.split() for c in DOTA_DEFAULT_CLASSES
             for line in (task1 / f'Task1_{c}.txt').read_text().splitlines()]
    # "<original image> <score> x1 y1 ... x4 y4", patches merged back to their original names
    test_images = {n.split('__')[0] for n in os.listdir(workspace / 'data' / 'tiny_dota' /
                                                        'test' / 'images')}
    assert all(len(line) == 10 and line[0] in test_images for line in lines)


def test_rotated_retinanet_trains_and_tests(workspace):
    out = train(RETINA, 'work_dirs/retina', workspace)
    assert 'loss_cls' in out and 'loss_bbox' in out
    assert 'frozen backbone tensors are unchanged after training' in out
    out = evaluate(RETINA, str(workspace / 'work_dirs' / 'retina' / 'epoch_2.pth'), workspace)
    assert_map_table(out, DOTA_DEFAULT_CLASSES)


def test_star_trains_and_tests(workspace):
    out = train(STAR, 'work_dirs/star', workspace)
    assert 'frozen backbone tensors are unchanged after training' in out
    out = evaluate(STAR, str(workspace / 'work_dirs' / 'star' / 'epoch_2.pth'), workspace)
    # the table lists all 48 STAR classes; the tiny set has ship, airplane and truck
    assert_map_table(out, ['ship', 'airplane', 'truck', 'containment_vessel'])
    assert re.search(r'\| ship +\| +[1-9]\d* +\|', out)  # ground truth of ship was read


def _raw_dota(root, size=300):
    """Original-size DOTA layout (train/images/P*.png, train/labelTxt/P*.txt with headers)."""
    gen = make_synthetic_dota(str(root / 'gen'), num_train=2, num_val=0, num_test=0,
                              image_size=size, max_objects=3)
    (root / 'DOTA' / 'train' / 'images').mkdir(parents=True)
    (root / 'DOTA' / 'train' / 'labelTxt').mkdir()
    originals = {}
    for name in sorted(os.listdir(gen['trainval_img_dir'])):
        stem = name.split('__')[0]
        shutil.copy(osp.join(gen['trainval_img_dir'], name),
                    root / 'DOTA' / 'train' / 'images' / f'{stem}.png')
        labels = open(osp.join(gen['trainval_ann_dir'], name[:-4] + '.txt')).read()
        (root / 'DOTA' / 'train' / 'labelTxt' / f'{stem}.txt').write_text(
            'imagesource:GoogleEarth\ngsd:0.146343590398\n' + labels)
        originals[stem] = [line.split() for line in labels.splitlines()]
    return originals


def test_split_tool_makes_what_the_configs_read(tmp_path):
    """mmrotate's img_split.py (as docs/oriented_detection.md runs it) on this stack."""
    import mmrotate
    from mmrotate.datasets import DOTADataset
    split_tool = osp.join(osp.dirname(mmrotate.__file__), '.mim', 'tools', 'data', 'dota',
                          'split', 'img_split.py')
    originals = _raw_dota(tmp_path)
    raw = tmp_path / 'DOTA' / 'train'
    out = run([sys.executable, split_tool, '--img-dirs', str(raw / 'images'), '--ann-dirs',
               str(raw / 'labelTxt'), '--sizes', '128', '--gaps', '32', '--rates', '1.0',
               '--img-rate-thr', '0.6', '--iof-thr', '0.7', '--padding-value', '104', '116',
               '124', '--save-dir', str(tmp_path / 'split' / 'trainval'), '--save-ext', '.png',
               '--nproc', '1'], tmp_path, timeout=300)
    assert 'Total images number: 18' in out  # 300 px, windows of 128 every 96 px: 3 x 3 each
    ds = DOTADataset(**dota_kwargs(dict(  # img_shape where mmrotate takes it (1.0.0rc1)
        data_root=str(tmp_path / 'split'), ann_file='trainval/annfiles/',
        data_prefix=dict(img_path='trainval/images/'), img_shape=(128, 128), pipeline=[],
        lazy_init=False)))
    assert len(ds) == 18  # filter_empty_gt is off outside training: every patch is listed
    found = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        stem, x, y = re.fullmatch(r'(P\d+)__128__(\d+)___(\d+)', info['img_id']).groups()
        assert osp.isfile(info['img_path'])
        shift = np.tile([int(x), int(y)], 4)
        for inst in info['instances']:
            if inst['ignore_flag']:
                continue
            # every labelled object is an original one moved into patch coordinates
            poly = np.array(inst['bbox']) + shift
            assert any(np.allclose(poly, np.array(o[:8], float), atol=0.01)
                       for o in originals[stem])
            found += 1
    assert found > 0
