"""Every shipped config loads and builds its model (no weights are downloaded: building does not
call init_weights)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mona_mm.runner import build_model

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p)


def test_there_are_configs():
    assert osp.join(ROOT, 'configs', 'mask_rcnn_swin_mona_coco.py') in CONFIGS


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert 'mona_mm' in cfg.custom_imports['imports']
    model = build_model(cfg)
    backbone = model.backbone
    assert type(backbone).__name__ == 'SwinMona'
    assert backbone.tuning_methods, 'every config names its tuning method'
    trainable = {n for n, p in backbone.named_parameters() if p.requires_grad}
    assert trainable == backbone.trainable_param_names
