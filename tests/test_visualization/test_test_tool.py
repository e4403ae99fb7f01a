"""tools/test.py --show-dir and --out on the tiny COCO, ADE20K and DOTA configs, with a full, a
delta and a merged checkpoint: one drawing per test image, ground truth next to prediction, and
a predictions dump that loads, each as the host library's own test tool makes them."""
import os
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from PIL import Image

from mona_mm.checkpoints import make_delta
from mona_mm.models import merge_adapters
from mona_mm.runner import build_model
from mona_mm.visualization import enable_drawing, enable_dump
from tests.helpers import ROOT, run
from tests.test_visualization.conftest import CONFIGS, NUM_VAL

TEST_TOOL = osp.join(ROOT, 'tools', 'test.py')


def run_test_tool(config, checkpoint, cwd, *options):
    return run([sys.executable, TEST_TOOL, config, checkpoint, '--work-dir', 'work_dirs/test',
                *options], cwd)


def image_sizes(folder):
    """file stem -> (width, height) of every image in ``folder``."""
    return {osp.splitext(n)[0]: Image.open(osp.join(folder, n)).size
            for n in sorted(os.listdir(folder))}


def assert_side_by_side(drawings, images):
    """One drawing per test image, twice its width: ground truth left, prediction right."""
    assert sorted(drawings) == sorted(images)
    for stem, (w, h) in images.items():
        assert drawings[stem] == (2 * w, h), stem


def test_coco_full_checkpoint(workspace, checkpoints):
    show, out = workspace / 'show_coco', workspace / 'coco_preds.pkl'
    log = run_test_tool(CONFIGS['coco'], checkpoints['coco'], workspace,
                    '--show-dir', str(show), '--out', str(out))
    assert 'coco/bbox_mAP' in log  # evaluation runs as well
    images = image_sizes(workspace / 'data' / 'tiny_coco' / 'val2017')
    assert_side_by_side(image_sizes(show), images)
    with open(out, 'rb') as f:
        preds = pickle.load(f)  # mmdet's DumpDetResults: one dict per image
    assert sorted(osp.splitext(osp.basename(p['img_path']))[0] for p in preds) == sorted(images)
    for p in preds:
        inst = p['pred_instances']
        assert inst['bboxes'].shape[1] == 4
        assert len(inst['masks']) == len(inst['scores']) == len(inst['labels'])
        assert all(m['size'] == list(p['ori_shape']) for m in inst['masks'])  # RLE, image size


def test_ade20k_delta_checkpoint(workspace, checkpoints, tmp_path):
    """A delta on its base weights; mmseg draws through its visualizer's storage backend and
    writes each prediction as a label PNG."""
    model = build_model(Config.fromfile(CONFIGS['ade20k']))
    full = torch.load(checkpoints['ade20k'], map_location='cpu', weights_only=False)
    delta = tmp_path / 'delta.pth'
    torch.save(make_delta(full, model, base=checkpoints['ade20k']), delta)
    show, out = workspace / 'show_ade20k', workspace / 'ade20k_preds'
    log = run_test_tool(CONFIGS['ade20k'], str(delta), workspace, '--base', checkpoints['ade20k'],
                    '--show-dir', str(show), '--out', str(out))
    assert 'Loaded delta' in log and 'mIoU' in log
    images = image_sizes(workspace / 'data' / 'tiny_ade20k' / 'images' / 'validation')
    # SegLocalVisualizer's files through LocalVisBackend: test_<image name>_<step>.png
    drawings = {n[len('test_'):].rsplit('.', 2)[0]: size
                for n, size in image_sizes(show / 'vis_data' / 'vis_image').items()}
    assert_side_by_side(drawings, images)
    labels = image_sizes(out)
    assert labels == images  # one label map per image, at the image's size
    num_classes = len(full['meta']['dataset_meta']['classes'])
    for stem in labels:
        values = np.unique(np.asarray(Image.open(out / f'{stem}.png')))
        assert values.max() <= num_classes  # reduce_zero_label: written back as 1..150


def test_dota_merged_checkpoint(workspace, checkpoints, tmp_path):
    """A merged checkpoint under deploy=True; a relative --show-dir lands, as with mmdet's and
    mmrotate's tools, under WORK_DIR/TIMESTAMP/."""
    model = build_model(Config.fromfile(CONFIGS['dota']))
    full = torch.load(checkpoints['dota'], map_location='cpu', weights_only=False)
    model.load_state_dict(full['state_dict'])
    assert merge_adapters(model)
    merged = tmp_path / 'merged.pth'
    torch.save(dict(meta=full['meta'], state_dict=model.state_dict()), merged)
    out = workspace / 'dota_preds.pkl'
    run_test_tool(CONFIGS['dota'], str(merged), workspace, '--show-dir', 'drawings', '--out',
              str(out), '--cfg-options', 'model.backbone.deploy=True')
    runs = sorted((workspace / 'work_dirs' / 'test').glob('*/drawings'))
    assert runs, 'no WORK_DIR/TIMESTAMP/drawings'
    images = image_sizes(workspace / 'data' / 'tiny_dota' / 'val' / 'images')
    assert_side_by_side(image_sizes(runs[-1]), images)
    with open(out, 'rb') as f:
        preds = pickle.load(f)  # mmengine's DumpResults, as mmrotate's tools/test.py
    assert len(preds) == NUM_VAL
    assert all(p['pred_instances']['bboxes'].shape[1] == 5 for p in preds)  # cx cy w h angle


def _cfg(scope, evaluator, hooks=True):
    cfg = Config(dict(default_scope=scope, test_evaluator=evaluator,
                      visualizer=dict(type='Visualizer')))
    if hooks:
        cfg.default_hooks = dict(visualization=dict(type='VisualizationHook'))
    return cfg


def test_drawing_settings_per_host():
    det = enable_drawing(_cfg('mmdet', dict(type='CocoMetric')), 'vis')
    assert det.default_hooks.visualization == dict(type='VisualizationHook', draw=True,
                                                   test_out_dir='vis')
    seg = enable_drawing(_cfg('mmseg', dict(type='IoUMetric')), 'vis')
    assert seg.visualizer.save_dir == 'vis'
    assert seg.default_hooks.visualization.interval == 1  # every image, not mmseg's 50th
    cfg = _cfg('mmseg', dict(type='IoUMetric'))
    cfg.default_hooks.visualization.interval = 5  # a config's own choice stays
    assert enable_drawing(cfg, 'vis').default_hooks.visualization.interval == 5
    with pytest.raises(RuntimeError, match='visualization hook'):
        enable_drawing(_cfg('mmdet', dict(type='CocoMetric'), hooks=False), 'vis')


def test_show_without_display_is_refused(monkeypatch):
    monkeypatch.setattr(sys, 'platform', 'linux')
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    with pytest.raises(RuntimeError, match='--show needs a display.*--show-dir'):
        enable_drawing(_cfg('mmdet', dict(type='CocoMetric')), show=True)


def test_dump_settings_per_host():
    det = enable_dump(_cfg('mmdet', dict(type='CocoMetric')), 'p.pkl')
    assert [m['type'] for m in det.test_evaluator] == ['CocoMetric', 'DumpDetResults']
    rot = enable_dump(_cfg('mmrotate', [dict(type='DOTAMetric')]), 'p.pkl')
    assert rot.test_evaluator[-1] == dict(type='mmengine.DumpResults', out_file_path='p.pkl')
    wrapped = enable_dump(_cfg('mmdet', dict(type='Evaluator', metrics=[dict(type='M')])),
                          'p.pickle')
    assert [m['type'] for m in wrapped.test_evaluator.metrics] == ['M', 'DumpDetResults']
    seg = enable_dump(_cfg('mmseg', dict(type='IoUMetric')), 'preds')
    assert seg.test_evaluator == ConfigDict(type='IoUMetric', output_dir='preds',
                                            keep_results=True)
    with pytest.raises(ValueError, match=r'pickle.*\.pkl'):
        enable_dump(_cfg('mmdet', dict(type='CocoMetric')), 'preds.json')
    with pytest.raises(ValueError, match='IoUMetric'):
        enable_dump(_cfg('mmseg', dict(type='CityscapesMetric')), 'preds')
