"""Pascal VOC detection end to end on a generated tiny VOCdevkit, through the README's tools.

tools/train.py (VOC07+12 trainval in a RepeatDataset x3, one epoch) then tools/test.py printing
the VOC07 11-point mAP on VOC2007 test. Also checks that the real leaves carry the paper's VOC
recipe (the tiny config inherits them).
"""
import os.path as osp
import re
import sys

import pytest
from mmengine.config import Config

from mona_mm.testing import make_synthetic_voc
from tests.helpers import ROOT, run

TINY = osp.join(ROOT, 'configs', 'tiny', 'retinanet_swin-mona_tiny-voc0712.py')
VOC = {method: osp.join(ROOT, 'configs', 'voc', f'retinanet_swin-l-{method}_8xb2-1x_voc0712.py')
       for method in ('mona', 'full', 'fixed')}
# 'Epoch(val) [1][2/2]  pascal_voc/mAP: 0.6226  pascal_voc/AP50: 0.6230' (test: 'Epoch(test) [2/2]')
MAP = re.compile(r'Epoch\((?:val|test)\) (?:\[\d+\])?\[\d+/\d+\]\s+pascal_voc/mAP: ([0-9.]+)\s+'
                 r'pascal_voc/AP50: [0-9.]+')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    ws = tmp_path_factory.mktemp('tiny_voc_ws')
    make_synthetic_voc(str(ws / 'data' / 'tiny_voc' / 'VOCdevkit'), num_trainval_2007=4,
                       num_test_2007=4, num_trainval_2012=4)
    out = run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), TINY, '--work-dir',
               'work_dirs/train', '--cfg-options', 'train_cfg.max_epochs=1',
               'train_cfg.val_interval=1', 'default_hooks.logger.interval=1'], ws)
    return ws / 'work_dirs' / 'train', out


def test_train_repeats_07_and_12_logs_and_saves(trained):
    work_dir, out = trained
    assert 'Parameters by part' in out and 'backbone adapters' in out
    assert 'frozen backbone tensors are unchanged after training' in out
    # (4 VOC2007 + 4 VOC2012 trainval) x 3 repeats / batch 4 = 6 iterations
    assert 'Epoch(train) [1][6/6]' in out
    assert MAP.search(out), out[-3000:]  # validation ran
    assert (work_dir / 'epoch_1.pth').exists()


def test_test_tool_prints_voc07_map(trained):
    work_dir, _ = trained
    out = run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), TINY,
               str(work_dir / 'epoch_1.pth'), '--work-dir', str(work_dir / 'test')],
              work_dir.parent.parent)
    assert '---------------iou_thr: 0.5---------------' in out
    assert re.search(r'\| tvmonitor\s+\| \d+\s+\| \d+\s+\|', out)  # mmdet's per-class table
    found = MAP.findall(out)
    assert found and 0 <= float(found[-1]) <= 1


def test_voc_leaves_follow_the_paper_recipe():
    """docs/spec.md section 5: RetinaNet, Swin-L (drop-path 0.2, out_indices 1,2,3,
    frozen_stages 1 in the official meaning, 0 here), FPN with extra convs on input,
    1000x600, RepeatDataset x3, 4 epochs with a step at 3, AdamW lr 1e-4 wd 0.05, VOC07
    11-point mAP; Mona trains 5,267,712 backbone parameters (the official VOC log)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    for method in VOC:
        cfg = Config.fromfile(VOC[method])
        backbone = cfg.model.backbone
        assert (backbone.type, backbone.arch, backbone.tuning.type) == ('SwinMona', 'large',
                                                                        method.capitalize())
        assert (backbone.drop_path_rate, backbone.out_indices, backbone.frozen_stages) == (
            0.2, (1, 2, 3), 0)
        assert cfg.model.type == 'RetinaNet' and cfg.model.bbox_head.num_classes == 20
        neck = cfg.model.neck
        assert (neck.in_channels, neck.start_level, neck.add_extra_convs, neck.num_outs) == (
            [384, 768, 1536], 0, 'on_input', 5)
        optimizer = cfg.optim_wrapper.optimizer
        assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == ('AdamW', 1e-4, 0.05)
        assert 'momentum' not in optimizer
        assert cfg.train_cfg.max_epochs == 4
        assert [(s.type, s.milestones) for s in cfg.param_scheduler] == [('MultiStepLR', [3])]
        train = cfg.train_dataloader.dataset
        assert (train.type, train.times) == ('RepeatDataset', 3)
        assert [d.ann_file for d in train.dataset.datasets] == [
            'VOC2007/ImageSets/Main/trainval.txt', 'VOC2012/ImageSets/Main/trainval.txt']
        assert train.dataset.datasets[0].pipeline[2].scale == (1000, 600)
        assert cfg.test_dataloader.dataset.ann_file == 'VOC2007/ImageSets/Main/test.txt'
        assert (cfg.test_evaluator.type, cfg.test_evaluator.eval_mode) == ('VOCMetric',
                                                                           '11points')
        assert cfg.custom_hooks[0] == dict(type='DeltaTuningHook')  # then RNGState, Divergence
    backbone = MODELS.build(Config.fromfile(VOC['mona']).model.backbone)
    assert sum(p.numel() for p in backbone.parameters() if p.requires_grad) == 5_267_712
