"""A config written for GPUs started where CUDA is not available stops at once, saying so and how
to run on the CPU on purpose; asked for (--cpu, allow_cpu), the CPU fallbacks apply."""
import os
import os.path as osp
import runpy
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config

from mona_mm.runner import CudaUnavailableError, adapt_to_device, parse_tool_args
from tests.helpers import ROOT

GPU_CONFIG = osp.join(ROOT, 'configs', 'coco', 'cascade-mask-rcnn_swin-b-mona_16xb1-3x_coco.py')
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason='about a machine without CUDA')


@no_cuda
def test_gpu_config_without_cuda_stops_at_once(tmp_path, monkeypatch):
    """tools/train.py as a user runs it: no model, no data, no work dir before the error."""
    train = osp.join(ROOT, 'tools', 'train.py')
    monkeypatch.setattr(sys, 'argv', [train, GPU_CONFIG, '--work-dir', str(tmp_path / 'w')])
    start = time.time()
    with pytest.raises(CudaUnavailableError) as info:
        runpy.run_path(train, run_name='__main__')
    assert time.time() - start < 60
    message = str(info.value)
    assert message.startswith('CUDA is not available (torch.cuda.is_available() is False')
    assert 'add --cpu to tools/train.py or tools/test.py' in message
    assert 'allow_cpu = True' in message
    assert not (tmp_path / 'w').exists()


def test_cpu_on_purpose_applies_the_fallbacks(monkeypatch):
    """The paper's COCO config (SyncBN heads, AMP) with allow_cpu on a machine without CUDA:
    gloo for a distributed launch, BN, fp32."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config.fromfile(GPU_CONFIG)
    with pytest.raises(CudaUnavailableError):
        adapt_to_device(cfg, 'pytorch')
    cfg.allow_cpu = True
    adapt_to_device(cfg, 'pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.optim_wrapper.type == 'OptimWrapper' and 'loss_scale' not in cfg.optim_wrapper
    assert 'SyncBN' not in cfg.pretty_text


@no_cuda
def test_cpu_flag_asks_for_the_cpu(monkeypatch):
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', 'unchanged')  # restored after the test
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    parser.add_argument('--work-dir')
    monkeypatch.setattr(sys, 'argv', ['tool', GPU_CONFIG, '--cpu'])
    args = parse_tool_args(parser)
    assert args.cfg.allow_cpu is True
    assert os.environ['CUDA_VISIBLE_DEVICES'] == ''  # also hides a GPU, where there is one


#: run as ``python -c PROBE TOOL ARGS...``: prints CUDA_VISIBLE_DEVICES as it is when mmengine is
#: first imported, then ends the process (nothing of the run itself happens)
PROBE = """
import os, runpy, sys


class Probe:
    def find_spec(self, name, path=None, target=None):
        if name == 'mmengine':
            print('at mmengine import:', repr(os.environ.get('CUDA_VISIBLE_DEVICES')), flush=True)
            os._exit(0)


sys.meta_path.insert(0, Probe())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_cpu_flag_hides_the_gpus_before_mmengine_asks_cuda(tool, tmp_path):
    """Importing mmengine (mmengine.device, mmcv.utils) asks CUDA for its devices, after which
    CUDA_VISIBLE_DEVICES hides nothing: ``--cpu`` must take effect before that import. Found on
    a GPU (``tools/test.py --cpu`` refused to run, tests/test_cuda/test_e2e_cuda.py); checked
    here, with or without one, by reading the variable at the moment of the import."""
    args = [osp.join(ROOT, 'tools', tool), GPU_CONFIG] + (['x.pth'] if tool == 'test.py' else [])
    env = {k: v for k, v in os.environ.items() if k != 'CUDA_VISIBLE_DEVICES'}
    outs = {}
    for flags in ([], ['--cpu']):
        result = subprocess.run([sys.executable, '-c', PROBE] + args + flags, cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        outs[bool(flags)] = result.stdout
    assert 'at mmengine import: None' in outs[False]  # the probe sees what the tool left
    assert "at mmengine import: ''" in outs[True]
