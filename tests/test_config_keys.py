"""Top-level ``data_root`` and ``pretrained`` (mona_mm.utils.config_keys): from --cfg-options or a
line in an inheriting config they reach every key derived from them, or the run stops naming the
real keys; the printed config never shows a value the run does not use."""
import os.path as osp

import pytest
from mmengine.config import Config

from mona_mm.runner import merge_args
from mona_mm.utils.config_keys import ConfigKeyError
from tests.helpers import ROOT
from tests.test_reliability.logcapture import logged

TINY_COCO = osp.join(ROOT, 'configs', 'tiny', 'mask-rcnn_swin-mona_tiny-coco.py')
FULL_COCO = osp.join(ROOT, 'configs', 'coco', 'cascade-mask-rcnn_swin-b-mona_16xb1-3x_coco.py')
TINY_ADE = osp.join(ROOT, 'configs', 'tiny', 'upernet_swin-mona_tiny-ade20k.py')


def load(path, options=None):
    return merge_args(Config.fromfile(str(path)), cfg_options=options, config_path=str(path))


def leaf(tmp_path, base, body):
    path = tmp_path / 'mine.py'
    path.write_text(f'_base_ = [{base!r}]\n{body}\n')
    return path


def data_paths(cfg):
    return (cfg.train_dataloader.dataset.data_root, cfg.val_dataloader.dataset.data_root,
            cfg.test_dataloader.dataset.data_root, cfg.val_evaluator.ann_file,
            cfg.test_evaluator.ann_file)


@pytest.mark.parametrize('root', ['/data/pets/', '/data/pets'])
def test_data_root_option_reaches_loaders_and_evaluators(root):
    with logged() as records:
        cfg = load(TINY_COCO, {'data_root': root})
    assert data_paths(cfg) == ('/data/pets/', ) * 3 + (
        '/data/pets/annotations/instances_val2017.json', ) * 2
    assert any("--cfg-options data_root = '%s' applied to train_dataloader.dataset.data_root"
               % root in message for _, message in records)


def test_pretrained_option_reaches_the_backbone():
    cfg = load(FULL_COCO, {'pretrained': 'weights/swin_b.pth'})
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint='weights/swin_b.pth')
    assert cfg.pretrained == 'weights/swin_b.pth'


def test_lines_of_an_inheriting_config_apply(tmp_path):
    cfg = load(leaf(tmp_path, FULL_COCO, "data_root = 'data/pets/'\npretrained = 'w.pth'"))
    assert data_paths(cfg)[:3] == ('data/pets/', ) * 3
    assert cfg.val_evaluator.ann_file == 'data/pets/annotations/instances_val2017.json'
    assert cfg.model.backbone.init_cfg.checkpoint == 'w.pth'


def test_pretrained_where_the_config_loads_none_names_the_real_key(tmp_path):
    with pytest.raises(ConfigKeyError, match='model.backbone.init_cfg.type=Pretrained '
                       'model.backbone.init_cfg.checkpoint=w.pth'):
        load(leaf(tmp_path, TINY_COCO, "pretrained = 'w.pth'"))
    with pytest.raises(ConfigKeyError, match='no key of the config was derived'):
        load(TINY_COCO, {'pretrained': 'w.pth'})


def test_an_inherited_value_no_key_uses_is_shown_as_the_used_one(tmp_path):
    cfg = load(leaf(tmp_path, FULL_COCO,
                    "model = dict(backbone=dict(init_cfg=dict(checkpoint='mine.pth')))"))
    assert cfg.pretrained == 'mine.pth' and cfg.model.backbone.init_cfg.checkpoint == 'mine.pth'
    assert load(TINY_ADE).pretrained is None


def test_a_data_root_that_cannot_be_placed_names_the_keys(tmp_path):
    body = ("data_root = 'data/pets/'\n"
            "train_dataloader = dict(dataset=dict(data_root='a/'))\n"
            "val_dataloader = dict(dataset=dict(data_root='b/'))\n"
            "test_dataloader = dict(dataset=dict(data_root='b/'))")
    with pytest.raises(ConfigKeyError, match=r"train_dataloader.dataset.data_root = 'a/', "
                       r"val_dataloader.dataset.data_root = 'b/'"):
        load(leaf(tmp_path, TINY_COCO, body))


def test_configs_that_use_their_keys_are_left_alone():
    with logged() as records:
        cfg = load(FULL_COCO)
    assert cfg.train_dataloader.dataset.data_root == cfg.data_root == 'data/coco/'
    assert not records
