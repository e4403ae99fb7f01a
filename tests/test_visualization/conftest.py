"""Generated tiny COCO, ADE20K and DOTA sets with a checkpoint of each task's tiny config.

The checkpoints are of untrained models (built from the tiny configs, saved by mmengine with
their dataset's class names, as training saves them): drawing and dumping follow the same path
whatever the weights, and training even a few iterations per task would cost more than these
tests' budget. One workspace serves the test tool's and the demo's tests.
"""
import importlib
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import save_checkpoint

import mona_mm.rotate  # noqa: F401  (mmrotate's import shims, before any mmrotate module)
from mona_mm.runner import build_model
from mona_mm.testing import make_synthetic_coco, make_synthetic_dota, make_synthetic_seg
from tests.helpers import ROOT

TINY = osp.join(ROOT, 'configs', 'tiny')
CONFIGS = {'coco': osp.join(TINY, 'mask-rcnn_swin-mona_tiny-coco.py'),
           'ade20k': osp.join(TINY, 'upernet_swin-mona_tiny-ade20k.py'),
           'dota': osp.join(TINY, 'oriented-rcnn-le90_swin-mona_tiny-dota.py')}
NUM_VAL = 3


def save_untrained(config: str, path: str, seed: int = 0) -> str:
    """Build ``config``'s model, initialise it, save it with its test set's metainfo."""
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    model = build_model(cfg)
    model.init_weights()
    datasets = importlib.import_module(f'{cfg.default_scope}.registry').DATASETS
    meta = datasets.build(dict(cfg.test_dataloader.dataset, lazy_init=True)).metainfo
    save_checkpoint({'meta': {'dataset_meta': meta}, 'state_dict': model.state_dict()}, path)
    return path


@pytest.fixture(scope='session')
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp('visualization_ws')
    make_synthetic_coco(str(ws / 'data' / 'tiny_coco'), num_train=1, num_val=NUM_VAL)
    make_synthetic_seg(str(ws / 'data' / 'tiny_ade20k'), 'ade20k', num_train=1,
                       num_val=NUM_VAL)
    make_synthetic_dota(str(ws / 'data' / 'tiny_dota'), num_train=1, num_val=NUM_VAL,
                        num_test=0)
    return ws


@pytest.fixture(scope='session')
def checkpoints(workspace):
    """task -> path of its untrained full checkpoint."""
    return {task: save_untrained(config, str(workspace / f'{task}.pth'))
            for task, config in CONFIGS.items()}
