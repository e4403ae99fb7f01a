"""Semantic segmentation end to end on generated tiny sets, through the README's own tools.

ADE20K: tools/train.py, tools/test.py (single scale and --tta), tools/dist_train.sh (2 CPU
processes, gloo) with the configs' unedited SyncBN heads. Potsdam and LoveDA: train 2 iterations
and test, proving their layouts. Few iterations each: these check the plumbing. Also checks that
the real leaves carry the paper's recipe (the tiny configs inherit them).
"""
import os.path as osp
import re
import sys

import pytest
from mmengine.config import Config

from mona_mm.testing import make_synthetic_seg
from tests.helpers import ROOT, run

TINY = {ds: osp.join(ROOT, 'configs', 'tiny', f'upernet_swin-mona_tiny-{ds}.py')
        for ds in ('ade20k', 'potsdam', 'loveda')}
ADE = {method: osp.join(ROOT, 'configs', 'ade20k',
                        f'upernet_swin-l-{method}_8xb2-160k_ade20k-512x512.py')
       for method in ('mona', 'full', 'fixed')}
FAST = ['--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
        'default_hooks.checkpoint.interval=4', 'default_hooks.logger.interval=1']
MIOU = re.compile(r'Iter\((?:val|test)\) \[\d+/\d+\]\s+aAcc: [0-9.]+\s+mIoU: ([0-9.]+)')


def miou(out):
    found = MIOU.findall(out)
    assert found, out[-3000:]
    return float(found[-1])


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp('tiny_seg_ws')
    make_synthetic_seg(str(ws / 'data' / 'tiny_ade20k'), 'ade20k', num_train=8, num_val=4)
    return ws


@pytest.fixture(scope='module')
def trained(workspace):
    out = run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), TINY['ade20k'],
               '--work-dir', 'work_dirs/train'] + FAST, workspace)
    return workspace / 'work_dirs' / 'train', out


def test_train_logs_table_checks_validates_and_saves(trained):
    work_dir, out = trained
    assert 'Parameters by part' in out and 'backbone adapters' in out
    assert 'frozen backbone tensors are unchanged after training' in out
    assert 'Iter(train) [4/4]' in out
    assert 0 <= miou(out) <= 100  # validation ran on the 4 validation images
    assert (work_dir / 'iter_4.pth').exists()


def test_unedited_sync_bn_runs_as_bn_on_cpu(trained):
    """The config (inherited from mmseg's UperNet) asks for SyncBN; on a CPU the run used BN."""
    work_dir, out = trained
    source = Config.fromfile(TINY['ade20k'])
    assert source.model.decode_head.norm_cfg.type == 'SyncBN'
    assert source.model.auxiliary_head.norm_cfg.type == 'SyncBN'
    ran = Config.fromfile(str(work_dir / osp.basename(TINY['ade20k'])))  # dumped by the runner
    assert ran.model.decode_head.norm_cfg.type == 'BN'
    assert ran.model.auxiliary_head.norm_cfg.type == 'BN'


def test_test_tool_prints_miou(trained):
    work_dir, _ = trained
    out = run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), TINY['ade20k'],
               str(work_dir / 'iter_4.pth'), '--work-dir', str(work_dir / 'test')],
              work_dir.parent.parent)
    assert '|        Class        |' in out  # mmseg's per-class IoU table
    assert 'wall' in out  # ADE20K's class names: the 150-class metainfo
    assert 0 <= miou(out) <= 100


def test_test_tool_tta_multi_scale_flip(trained):
    work_dir, _ = trained
    out = run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), TINY['ade20k'],
               str(work_dir / 'iter_4.pth'), '--tta', '--work-dir', str(work_dir / 'tta')],
              work_dir.parent.parent)
    assert "type='SegTTAModel'" in out  # the logged config: the model is wrapped
    assert 'TestTimeAug' in out and 'scale_factor=1.75' in out  # mmseg's ADE20K tta_pipeline
    assert 0 <= miou(out) <= 100


def test_dist_train_two_cpu_processes_with_sync_bn(workspace):
    out = run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), TINY['ade20k'], '2',
               '--work-dir', 'work_dirs/dist', '--cfg-options', 'train_cfg.max_iters=2',
               'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'], workspace)
    assert 'distributed backend gloo' in out and 'SyncBN layers run as BN' in out
    assert 'Distributed training: True' in out and 'GPU number: 2' in out  # world size 2
    assert (workspace / 'work_dirs' / 'dist' / 'iter_2.pth').exists()
    assert 0 <= miou(out) <= 100


@pytest.mark.parametrize('dataset', ['potsdam', 'loveda'])
def test_remote_sensing_layouts_train_and_test(tmp_path, dataset):
    make_synthetic_seg(str(tmp_path / 'data' / f'tiny_{dataset}'), dataset, num_train=4,
                       num_val=2)
    out = run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), TINY[dataset],
               '--work-dir', 'work', '--cfg-options', 'train_cfg.max_iters=2',
               'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
               'default_hooks.logger.interval=1'], tmp_path)
    assert 'Iter(train) [2/2]' in out
    out = run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), TINY[dataset],
               str(tmp_path / 'work' / 'iter_2.pth'), '--work-dir', 'work/test'], tmp_path)
    classes = {'potsdam': 'impervious_surface', 'loveda': 'agricultural'}[dataset]
    assert classes in out  # the dataset's own class table
    assert 0 <= miou(out) <= 100


def test_ade20k_leaves_follow_the_paper_recipe():
    """docs/spec.md section 5: UperNet Swin-L, 512 crops, 160k poly, warmup 1500, batch 16;
    Mona drop-path 0.2 lr 3e-4, baselines 0.3 and 6e-5; Mona trains 5,267,712 backbone
    parameters (the official ADE20K log)."""
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules()
    for method, (drop_path, lr) in dict(mona=(0.2, 3e-4), full=(0.3, 6e-5),
                                        fixed=(0.3, 6e-5)).items():
        cfg = Config.fromfile(ADE[method])
        assert cfg.model.backbone.type == 'SwinMona' and cfg.model.backbone.arch == 'large'
        assert cfg.model.backbone.tuning.type == method.capitalize()
        assert cfg.model.backbone.drop_path_rate == drop_path
        assert cfg.optim_wrapper.optimizer.type == 'AdamW'
        assert cfg.optim_wrapper.optimizer.lr == lr
        assert cfg.optim_wrapper.optimizer.weight_decay == 0.01
        assert cfg.model.backbone.init_cfg.checkpoint.endswith(
            'swin_large_patch4_window7_224_22k.pth')
        assert cfg.model.decode_head.type == 'UPerHead'
        assert cfg.model.decode_head.num_classes == 150
        assert cfg.crop_size == (512, 512)
        assert cfg.train_dataloader.batch_size == 2  # x 8 GPUs
        assert cfg.train_cfg.max_iters == 160000
        warmup, poly = cfg.param_scheduler
        assert (warmup.type, warmup.end, poly.type, poly.end) == ('LinearLR', 1500, 'PolyLR',
                                                                  160000)
        assert cfg.custom_hooks[0] == dict(type='DeltaTuningHook')  # then RNGState, Divergence
    backbone = MODELS.build(Config.fromfile(ADE['mona']).model.backbone)
    assert sum(p.numel() for p in backbone.parameters() if p.requires_grad) == 5_267_712


def test_cuda_graph_hook_in_a_users_config(workspace):
    """The README's switch: a config that inherits ours and adds CudaGraphHook to its hooks
    trains through tools/train.py; on a CPU the log says capture is off (the captured path is
    tests/test_cuda/test_cuda_graph.py)."""
    config = workspace / 'with_cuda_graphs.py'
    config.write_text(
        f"_base_ = [{TINY['ade20k']!r}]\n"
        "custom_hooks = [dict(type='DeltaTuningHook'), dict(type='RNGStateHook'),\n"
        "                dict(type='DivergenceHook'), dict(type='CudaGraphHook')]\n")
    out = run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(config), '--work-dir',
               'work_dirs/cuda_graphs', '--cfg-options', 'train_cfg.max_iters=2',
               'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'], workspace)
    assert ('CudaGraphHook: CUDA is not available here, so CUDA-graph capture is off: the '
            'backbone runs eagerly.') in out
    assert 'Iter(train) [2/2]' in out
