"""End to end on the generated tiny COCO set, through the README's own tools.

Runs tools/train.py, tools/test.py, tools/dist_train.sh (2 CPU processes, gloo), --resume, and
mmdet's stock trainer on a downstream config that inherits ours. Few iterations each: these
check the plumbing; the README's quick start shows the full learning run.
"""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from mona_mm.testing import make_synthetic_coco
from tests.helpers import ROOT, run

CONFIG = osp.join(ROOT, 'configs', 'tiny', 'mask-rcnn_swin-mona_tiny-coco.py')
FAST = ['--cfg-options', 'train_cfg.max_epochs=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=3',
        'default_hooks.logger.interval=1', 'randomness.seed=0', 'randomness.deterministic=True']


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp('tiny_coco_ws')
    make_synthetic_coco(str(ws / 'data' / 'tiny_coco'), num_train=8, num_val=4)
    return ws


@pytest.fixture(scope='module')
def trained(workspace):
    out = run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG,
               '--work-dir', 'work_dirs/train'] + FAST, workspace)
    return workspace / 'work_dirs' / 'train', out


def test_train_logs_table_checks_and_saves(trained):
    work_dir, out = trained
    assert 'Parameters by part' in out and 'backbone adapters' in out
    assert 'frozen backbone tensors are unchanged after training' in out
    assert 'coco/bbox_mAP' in out and 'coco/segm_mAP' in out  # validation ran
    assert (work_dir / 'epoch_2.pth').exists()
    # the log a user reads: one optimizer line, not one per frozen parameter; a true environment
    assert 'is skipped since its requires_grad' not in out and 'paramwise_options' not in out
    assert re.search(r'Optimizer AdamW: \d+ trainable tensors in \d+ parameter groups; \d+ '
                     r'frozen tensors left out', out)
    assert "'backend': 'gloo'" in out and "'backend': 'nccl'" not in out


def test_a_test_run_that_predicts_nothing_fails_saying_why(trained):
    work_dir, _ = trained
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'test.py'), CONFIG, str(work_dir / 'epoch_2.pth'),
         '--work-dir', str(work_dir / 'nothing'), '--cfg-options',
         'model.test_cfg.rcnn.score_thr=1.01'], cwd=work_dir.parent.parent, capture_output=True,
        text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode != 0
    assert 'No metric was computed on the 4 test images' in result.stderr
    assert 'score_thr' in result.stderr


def test_test_tool_prints_bbox_and_segm_ap(trained):
    work_dir, _ = trained
    out = run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), CONFIG,
               str(work_dir / 'epoch_2.pth'), '--work-dir', str(work_dir / 'test')],
              work_dir.parent.parent)
    assert 'Evaluating bbox' in out and 'Evaluating segm' in out
    assert re.search(r'coco/bbox_mAP: [0-9.]+', out) and re.search(r'coco/segm_mAP: [0-9.]+', out)


def test_show_dir_says_where_the_drawings_are(trained):
    work_dir, _ = trained
    out = run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), CONFIG,
               str(work_dir / 'epoch_2.pth'), '--work-dir', str(work_dir / 'drawn'),
               '--show-dir', 'vis'], work_dir.parent.parent)
    folder = re.search(r'The drawings of the test images are in (\S+)', out).group(1)
    assert folder.startswith(str(work_dir / 'drawn')) and folder.endswith('/vis')
    assert len(os.listdir(folder)) == 4


def test_resume_reaches_the_same_weights(trained):
    """Resuming from epoch 1 into a new work dir gives the uninterrupted run's epoch-2 weights."""
    work_dir, _ = trained
    resumed = work_dir.parent / 'resumed'
    out = run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir',
               str(resumed), '--resume', str(work_dir / 'epoch_1.pth')] + FAST,
              work_dir.parent.parent)
    assert re.search(r'resumed epoch: 1, iter: \d+', out), out[-3000:]
    straight = torch.load(work_dir / 'epoch_2.pth', map_location='cpu')  # weights_only default
    again = torch.load(resumed / 'epoch_2.pth', map_location='cpu')
    assert again['meta']['epoch'] == 2
    assert set(again['state_dict']) == set(straight['state_dict'])
    for key, value in straight['state_dict'].items():
        assert torch.equal(again['state_dict'][key], value), key


def test_delta_checkpoint_through_the_tools(trained, tmp_path):
    """extract_delta.py writes an adapter-only file; tools/test.py on it prints exactly the metrics
    of the full checkpoint. The tiny config loads no pretrained file, so the delta needs a base a
    tool can load: without one it is refused, --write-base writes the checkpoint's frozen
    backbone beside it and records it."""
    work_dir, _ = trained
    ws = work_dir.parent.parent
    delta = tmp_path / 'epoch_2_delta.pth'
    extract = [sys.executable, osp.join(ROOT, 'tools', 'model_converters', 'extract_delta.py'),
               CONFIG, str(work_dir / 'epoch_2.pth'), str(delta)]
    refused = subprocess.run(extract, cwd=ws, capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=ROOT))
    assert refused.returncode == 2 and 'loads no pretrained backbone' in refused.stderr
    assert not delta.exists()
    refused = subprocess.run(extract + ['--base', 'random-init'], cwd=ws, capture_output=True,
                             text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert refused.returncode == 2 and '--base random-init is not a file' in refused.stderr
    out = run(extract + ['--write-base'], ws)
    assert '% of the full file' in out and (tmp_path / 'epoch_2_delta.base.pth').exists()
    metrics = []
    for path in (work_dir / 'epoch_2.pth', delta):
        out = run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), CONFIG, str(path)], ws)
        metrics.append(re.search(r'coco/bbox_mAP: .*coco/segm_mAP_l: \S+', out).group(0))
    assert 'Loaded delta' in out
    assert metrics[0] == metrics[1]


def test_adapter_only_checkpoints_while_training(trained):
    """default_hooks.checkpoint.delta=True: every checkpoint is a delta (smaller, naming its base:
    here base_weights.pth in the work dir), equal in its tensors to the full run's; tools/test.py
    scores it as the full one, and --resume from the epoch-1 delta ends where the full run did."""
    work_dir, _ = trained
    ws = work_dir.parent.parent
    delta_dir = ws / 'work_dirs' / 'delta'
    option = 'default_hooks.checkpoint.delta=True'
    out = run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir',
               str(delta_dir)] + FAST + [option], ws)
    assert 'its initial weights are written to' in out
    full = torch.load(work_dir / 'epoch_2.pth', map_location='cpu')
    delta = torch.load(delta_dir / 'epoch_2.pth', map_location='cpu')
    record = delta['meta']['mona_mm_delta']
    assert record['base'] == str(delta_dir / 'base_weights.pth')
    assert 0 < len(delta['state_dict']) < len(full['state_dict']) and 'optimizer' in delta
    for key, value in delta['state_dict'].items():
        assert torch.equal(value, full['state_dict'][key]), key
    assert os.path.getsize(delta_dir / 'epoch_2.pth') < os.path.getsize(work_dir / 'epoch_2.pth')
    metrics = []
    for path in (work_dir / 'epoch_2.pth', delta_dir / 'epoch_2.pth'):
        out = run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), CONFIG, str(path)], ws)
        metrics.append(re.search(r'coco/bbox_mAP: .*coco/segm_mAP_l: \S+', out).group(0))
    assert metrics[0] == metrics[1]
    image = str(next((ws / 'data' / 'tiny_coco' / 'val2017').glob('*.jpg')))
    out = run([sys.executable, osp.join(ROOT, 'demo', 'image_demo.py'), image, CONFIG,
               str(delta_dir / 'epoch_2.pth'), '--out-dir', str(ws / 'demo_delta')], ws)
    assert 'Loaded delta' in out and list((ws / 'demo_delta' / 'preds').glob('*.json'))
    resumed = ws / 'work_dirs' / 'delta_resumed'
    out = run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIG, '--work-dir',
               str(resumed), '--resume', str(delta_dir / 'epoch_1.pth')] + FAST + [option], ws)
    assert 'Delta checkpoint: ' in out and re.search(r'resumed epoch: 1, iter: \d+', out)
    again = torch.load(resumed / 'epoch_2.pth', map_location='cpu')
    assert again['meta']['mona_mm_delta']['base'] == record['base']  # the same base file
    for key, value in delta['state_dict'].items():
        assert torch.equal(again['state_dict'][key], value), key


def test_dist_train_two_cpu_processes(workspace):
    out = run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), CONFIG, '2', '--work-dir',
               'work_dirs/dist', '--cfg-options', 'train_cfg.max_epochs=1',
               'train_cfg.val_interval=1'], workspace)
    assert 'distributed backend gloo' in out
    assert 'Distributed training: True' in out and 'GPU number: 2' in out  # world size 2
    assert (workspace / 'work_dirs' / 'dist' / 'epoch_1.pth').exists()


def test_downstream_config_with_stock_mmdet_trainer(workspace):
    import mmdet
    stock_train = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    downstream = workspace / 'my_project_config.py'
    downstream.write_text(
        f"_base_ = [{CONFIG!r}]\n"
        "custom_imports = dict(imports=['mona_mm'], allow_failed_imports=False)\n"
        "model = dict(backbone=dict(tuning=dict(type='Mona', bottleneck=8)))\n"
        "train_cfg = dict(max_epochs=1, val_interval=1)\n")
    out = run([sys.executable, stock_train, str(downstream), '--work-dir',
               'work_dirs/downstream'], workspace)
    assert 'Parameters by part' in out and 'coco/bbox_mAP' in out


def test_inference_api_full_and_delta_predict_the_same(trained, tmp_path):
    from mmdet.apis import inference_detector

    from mona_mm.apis import init_model
    from mona_mm.checkpoints import make_delta
    work_dir, _ = trained
    ws = work_dir.parent.parent
    full_path = str(work_dir / 'epoch_2.pth')
    full = init_model(CONFIG, full_path)
    ckpt = torch.load(full_path, map_location='cpu')
    delta_path, base_path = tmp_path / 'delta.pth', tmp_path / 'base.pth'
    torch.save(make_delta(ckpt, full, base='random-init'), delta_path)
    torch.save({'state_dict': {k: v for k, v in ckpt['state_dict'].items()
                               if k.startswith('backbone.') and '.mona' not in k}}, base_path)
    delta = init_model(CONFIG, str(delta_path), base=str(base_path))
    image = str(next((ws / 'data' / 'tiny_coco' / 'val2017').glob('*.jpg')))
    a, b = (inference_detector(m, image).pred_instances for m in (full, delta))
    assert len(a) > 0 and torch.equal(a.bboxes, b.bboxes) and torch.equal(a.scores, b.scores)
    assert full.dataset_meta['classes'] == ('square', 'circle', 'triangle')
