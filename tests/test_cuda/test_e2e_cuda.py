"""End to end on CUDA through the README's own tools, on generated tiny sets.

* tiny COCO Mask R-CNN trained with ``tools/train.py --amp`` (the quick start's 12 epochs) and
  evaluated with ``tools/test.py`` on the GPU and, as a reference, on the CPU;
* a 1-process nccl DDP run of the tiny ADE20K UperNet through ``tools/dist_train.sh``, whose
  SyncBN heads must stay ``SyncBatchNorm`` (a probe hook logs the model's norm layers);
* tiny DOTA Oriented R-CNN trained and validated on the GPU (rotated ops in the real pipeline).
"""
import importlib
import math
import os.path as osp
import re
import sys

import pytest
import torch
from mmengine.config import Config

from tests.helpers import free_port
from tests.test_cuda.common import HAS_CUDA, REQUIRES_CUDA, ROOT, make_tiny_data, run, tool

pytestmark = REQUIRES_CUDA

TINY = osp.join(ROOT, 'configs', 'tiny')
COCO = osp.join(TINY, 'mask-rcnn_swin-mona_tiny-coco.py')
ADE = osp.join(TINY, 'upernet_swin-mona_tiny-ade20k.py')
DOTA = osp.join(TINY, 'oriented-rcnn-le90_swin-mona_tiny-dota.py')
COCO_MAP = re.compile(r'coco/bbox_mAP: ([0-9.]+)\s+coco/bbox_mAP_50: [0-9.]+.*?'
                      r'coco/segm_mAP: ([0-9.]+)')
LOSS = re.compile(r'\bloss: (\S+)')


def coco_maps(out):
    """(bbox mAP, segm mAP) of the last evaluation in a log."""
    found = COCO_MAP.findall(out)
    assert found, out[-3000:]
    return tuple(float(v) for v in found[-1])


def assert_finite_losses(out):
    losses = [float(v) for v in LOSS.findall(out)]
    assert losses and all(math.isfinite(v) for v in losses), losses


@pytest.fixture(scope='module')
def coco_ws(tmp_path_factory):
    ws = tmp_path_factory.mktemp('cuda_coco_ws')
    make_tiny_data('coco', str(ws / 'data' / 'tiny_coco'))  # the quick start's 64 + 16 images
    return ws


@pytest.fixture(scope='module')
def amp_trained(coco_ws):
    out = run([sys.executable, tool('train.py'), COCO, '--amp', '--work-dir', 'work_dirs/amp',
               '--cfg-options', 'default_hooks.logger.interval=4', 'randomness.seed=0'], coco_ws)
    return coco_ws / 'work_dirs' / 'amp', out


def test_amp_training_on_cuda_learns(amp_trained):
    work_dir, out = amp_trained
    assert 'No CUDA device' not in out  # mona_mm.runner left the config as written
    assert re.search(r'CUDA available: True', out)
    assert re.search(r'\bmemory: \d+', out)  # mmengine logs GPU memory only for CUDA runs
    assert_finite_losses(out)
    assert 'frozen backbone tensors are unchanged after training' in out
    ckpt = torch.load(work_dir / 'epoch_12.pth', map_location='cpu')
    assert 'loss_scaler' in ckpt['optimizer']  # AmpOptimWrapper's state: AMP really ran
    dumped = Config.fromfile(str(work_dir / osp.basename(COCO)))
    assert dumped.optim_wrapper.type == 'AmpOptimWrapper'
    bbox, segm = coco_maps(out)
    assert bbox > 0 and segm > 0  # as the CPU quick start: it learns in 12 epochs


def test_evaluation_on_cuda_matches_the_cpu(amp_trained):
    """tools/test.py on the GPU and on the CPU (``--cpu``) give the same AP."""
    work_dir, _ = amp_trained
    ckpt = str(work_dir / 'epoch_12.pth')
    maps = {}
    for device, flags in (('cuda', []), ('cpu', ['--cpu'])):
        out = run([sys.executable, tool('test.py'), COCO, ckpt, '--work-dir',
                   str(work_dir / f'test_{device}')] + flags, work_dir.parent.parent)
        assert ('No CUDA device' in out) == (device == 'cpu')
        assert 'Evaluating bbox' in out and 'Evaluating segm' in out
        maps[device] = coco_maps(out)
    assert maps['cuda'][0] > 0
    # float rounding can flip a detection at a score or IoU boundary: a few of 16 images' worth
    for gpu, cpu in zip(maps['cuda'], maps['cpu']):
        assert abs(gpu - cpu) <= 0.03, maps


def expected_sync_bn_layers(config: str) -> int:
    """SyncBatchNorm layers of the config's model, built here on the CPU as written."""
    from mona_mm.runner import register_scope
    cfg = Config.fromfile(config)
    scope = register_scope(cfg)
    model = importlib.import_module(f'{scope}.registry').MODELS.build(cfg.model)
    return sum(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())


@pytest.mark.skipif(HAS_CUDA and not torch.distributed.is_nccl_available(),
                    reason='this torch has no nccl')
def test_dist_train_one_gpu_nccl_keeps_sync_bn(tmp_path):
    make_tiny_data('ade20k', str(tmp_path / 'data' / 'tiny_ade20k'), num_train=8, num_val=4)
    hooks = list(Config.fromfile(ADE).custom_hooks) + [dict(type='SyncBNProbeHook')]
    config = tmp_path / 'ade_with_probe.py'
    config.write_text(f'_base_ = [{ADE!r}]\n'
                      "custom_imports = dict(imports=['tests.test_cuda.sync_bn_probe'], "
                      'allow_failed_imports=False)\n'
                      f'custom_hooks = {[dict(h) for h in hooks]!r}\n')
    out = run(['bash', tool('dist_train.sh'), str(config), '1', '--work-dir', 'work_dirs/dist',
               '--cfg-options', 'train_cfg.max_iters=8', 'train_cfg.val_interval=8',
               'default_hooks.checkpoint.interval=8', 'default_hooks.logger.interval=1'],
              tmp_path, PORT=str(free_port()))
    assert 'No CUDA device' not in out
    assert 'Distributed training: True' in out and 'GPU number: 1' in out
    probe = re.search(r'SyncBN probe: (\d+) SyncBatchNorm, (\d+) BatchNorm, backend (\w+), '
                      r'world size (\d+), (\w+), device (\w+)', out)
    assert probe, out[-3000:]
    sync, plain, backend, world, wrapper, device = probe.groups()
    assert int(sync) == expected_sync_bn_layers(ADE) > 0 and int(plain) == 0
    assert (backend, world, wrapper, device) == ('nccl', '1', 'MMDistributedDataParallel', 'cuda')
    assert_finite_losses(out)
    assert 'Iter(train) [8/8]' in out and re.search(r'mIoU: [0-9.]+', out)
    assert (tmp_path / 'work_dirs' / 'dist' / 'iter_8.pth').exists()


def test_oriented_rcnn_trains_and_validates_on_cuda(tmp_path):
    """RoIAlignRotated, rotated NMS and box_iou_rotated on the GPU, in training and DOTAMetric."""
    make_tiny_data('dota', str(tmp_path / 'data' / 'tiny_dota'), num_train=8, num_val=4)
    out = run([sys.executable, tool('train.py'), DOTA, '--work-dir', 'work_dirs/dota',
               '--cfg-options', 'train_cfg.max_epochs=2', 'train_cfg.val_interval=2',
               'default_hooks.logger.interval=1'], tmp_path)
    assert 'No CUDA device' not in out and re.search(r'\bmemory: \d+', out)
    assert_finite_losses(out)
    assert 'Epoch(train) [2][2/2]' in out
    values = [float(v) for v in re.findall(r'dota/mAP: ([0-9.]+)', out)]
    assert values and all(0 <= v <= 1 for v in values)
