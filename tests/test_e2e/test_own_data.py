"""docs/own_data.md, done as the page says: its config blocks and commands, read from the page, on
a set of one's own in the page's layout (generated: a COCO-format pets set with the categories
'cat' and 'dog', a street scenes set with labels 1-4), with the page's CPU settings (the tiny
base, the short schedule). The page's full-size configs are loaded and checked as they are, and
the mistake the page warns of first (a forgotten ``num_classes``) stops the run before it starts.
"""
import json
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

from mona_mm.testing import make_synthetic_coco, make_synthetic_seg
from tests.helpers import ROOT, run

PAGE = open(osp.join(ROOT, 'docs', 'own_data.md'), encoding='utf-8').read()
CONFIGS = re.findall(r'```python\n(.*?)```', PAGE, re.S)
COMMANDS = [block.strip().splitlines() for block in re.findall(r'```bash\n(.*?)```', PAGE, re.S)]
BASE = re.compile(r"^_base_ = \['([^']+)'\]", re.M)


def cpu_base(page_text, key):
    """The page's CPU base for the detection ('mask-rcnn') or segmentation ('upernet') config."""
    return re.search(r"`'(\.\./tiny/%s[^']*)'`" % key, page_text).group(1)


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A checkout-like folder: our configs and tools (linked), and the page's two data sets."""
    ws = tmp_path_factory.mktemp('own_data_ws')
    (ws / 'configs').mkdir()
    for entry in os.listdir(osp.join(ROOT, 'configs')):
        (ws / 'configs' / entry).symlink_to(osp.join(ROOT, 'configs', entry))
    (ws / 'tools').symlink_to(osp.join(ROOT, 'tools'))
    # pets: COCO json + images in the page's folders, categories named cat and dog
    coco = make_synthetic_coco(str(ws / 'gen_coco'), num_train=8, num_val=4,
                               classes=('square', 'circle'))
    root = ws / 'data' / 'pets'
    (root / 'annotations').mkdir(parents=True)
    for split in ('train', 'val'):
        content = json.load(open(coco[f'{split}_ann_file']))
        for category, name in zip(content['categories'], ('cat', 'dog')):
            category['name'] = name
        json.dump(content, open(root / 'annotations' / f'{split}.json', 'w'))
        shutil.copytree(coco[f'{split}_img_dir'], root / 'images' / split)
    # streets: ADE20K's layout; labels 1 (background), 2-4 (shapes; the others merged into 4)
    seg = make_synthetic_seg(str(ws / 'data' / 'streets'), 'ade20k', num_train=8, num_val=4)
    for split in ('train', 'val'):
        for name in os.listdir(seg[f'{split}_ann_dir']):
            path = osp.join(seg[f'{split}_ann_dir'], name)
            label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            cv2.imwrite(path, np.minimum(label, 4).astype(np.uint8))
    return ws


def write_config(ws, text, base=None):
    """The page's config block at the path its heading comment names (under ``configs/``)."""
    name = {'mask-rcnn': 'pets/mask-rcnn_swin-b-mona_pets.py',
            'upernet': 'streets/upernet_swin-l-mona_streets.py'}
    key = 'mask-rcnn' if 'mask_rcnn' in text else 'upernet'
    assert f'configs/{name[key]}' in PAGE
    if base is not None:
        text = BASE.sub(f"_base_ = ['{base}']", text)
    path = ws / 'configs' / name[key]
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize('task', ['detection', 'segmentation'])
def test_the_pages_full_size_configs_pass_the_checks(workspace, task):
    from mona_mm.runner import check_data_agreement, merge_args
    text = CONFIGS[0 if task == 'detection' else 1]
    path = write_config(workspace, text)
    cfg = merge_args(Config.fromfile(str(path)), config_path=str(path))
    check_data_agreement(cfg, 'train')
    check_data_agreement(cfg, 'test')
    classes = cfg.train_dataloader.dataset.metainfo['classes']
    assert cfg.test_dataloader.dataset.metainfo['classes'] == classes
    assert cfg.test_dataloader.dataset.data_root == cfg.data_root


def run_page_commands(workspace, commands, options, checkpoint):
    """The page's train and test commands with its CPU additions."""
    train, test = commands
    args = train.split()[1:] + ['--cfg-options'] + options
    out = run([sys.executable] + args, workspace)
    args = test.split()[1:]
    args[-1] = re.sub(r'(epoch|iter)_\d+\.pth$', checkpoint, args[-1])
    return out, run([sys.executable] + args, workspace)


def test_detection_on_ones_own_coco_set(workspace):
    write_config(workspace, CONFIGS[0], cpu_base(PAGE, 'mask-rcnn'))
    options = re.search(r'add `--cfg-options (train_cfg\.max_epochs=1)`', PAGE).group(1).split()
    train_out, test_out = run_page_commands(workspace, COMMANDS[0], options, 'epoch_1.pth')
    assert "'cat'" in train_out and 'coco/bbox_mAP' in train_out
    assert re.search(r'coco/bbox_mAP: [0-9.]+ .*coco/segm_mAP: [0-9.]+', test_out)
    assert 'differs from val_dataloader' not in test_out


def test_segmentation_on_ones_own_set(workspace):
    write_config(workspace, CONFIGS[1], cpu_base(PAGE, 'upernet'))
    found = re.search(r"`--cfg-options (train_cfg\.max_iters=4 train_cfg\.val_interval=4\n"
                      r"default_hooks\.checkpoint\.interval=4)`", PAGE)
    train_out, test_out = run_page_commands(workspace, COMMANDS[1], found.group(1).split(),
                                            'iter_4.pth')
    for out in (train_out, test_out):
        assert re.search(r'\|\s+car\s+\|', out) and re.search(r'mIoU: [0-9.]+', out)


def test_a_forgotten_num_classes_stops_before_training(workspace):
    text = re.sub(r'^model = .*$', '', CONFIGS[0], flags=re.M)
    path = write_config(workspace, text, cpu_base(PAGE, 'mask-rcnn'))
    result = subprocess.run([sys.executable, 'tools/train.py', str(path)], cwd=workspace,
                            capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode != 0
    assert 'model.roi_head.bbox_head.num_classes = 3' in result.stderr
    assert "has 2 classes ('cat', 'dog')" in result.stderr
    assert 'Iter(train)' not in result.stdout + result.stderr
