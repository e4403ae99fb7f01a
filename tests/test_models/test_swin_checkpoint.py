"""Loading public Swin checkpoints: every layout, the report, and clear refusals."""
import logging

import pytest
import torch
from mmdet.models.backbones import SwinTransformer
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger

from mona_mm.models import SwinMona
from tests.helpers import microsoft_swin_state_dict


@pytest.fixture
def ms_file(tmp_path, tiny_swin_cfg):
    path = tmp_path / 'swin_tiny_patch4_window4_ms.pth'
    torch.save({'model': microsoft_swin_state_dict(**tiny_swin_cfg)}, path)
    return str(path)


def test_microsoft_file_loads_like_mmdet(ms_file, tiny_swin_cfg):
    stock = SwinTransformer(convert_weights=True, **tiny_swin_cfg,
                            init_cfg=ConfigDict(type='Pretrained', checkpoint=ms_file))
    stock.init_weights()
    ours = SwinMona(tuning='Mona', **tiny_swin_cfg,
                    init_cfg=dict(type='Pretrained', checkpoint=ms_file))
    ours.init_weights()
    theirs = stock.state_dict()
    mine = ours.state_dict()
    for key, value in theirs.items():
        assert torch.equal(mine[key], value), key
    x = torch.randn(1, 3, 48, 48)
    stock.eval()
    ours.eval()
    with torch.no_grad():
        for p in (p for n, p in ours.named_parameters() if 'project2' in n):
            p.zero_()
        for a, b in zip(stock(x), ours(x)):
            assert torch.equal(a, b)


def test_report_names_what_loaded(ms_file, tiny_swin_cfg):
    model = SwinMona(tuning=dict(type='Mona', bottleneck=8), **tiny_swin_cfg)
    report = model.load_pretrained(ms_file)
    assert report.source_format.startswith('Microsoft')
    assert not report.missing and not report.unexpected
    assert set(report.missing_allowed) == model.adapter_param_names | {
        n for n in model.state_dict() if n.startswith('norm')}
    assert 'head.weight' in report.ignored and 'norm.weight' in report.ignored
    assert any(k.endswith('attn_mask') for k in report.ignored)
    assert len(report.loaded) == len([k for k in model.state_dict()
                                      if '.mona' not in k and not k.startswith('norm')])


@pytest.mark.parametrize('prefix', ['', 'backbone.', 'module.backbone.'])
def test_converted_and_prefixed_checkpoints(tmp_path, tiny_swin_cfg, prefix):
    source = SwinMona(tuning='Full', **tiny_swin_cfg)
    with torch.no_grad():
        for p in source.parameters():
            p.normal_()
    state = {prefix + k: v for k, v in source.state_dict().items()}
    state['neck.lateral_convs.0.conv.weight'] = torch.zeros(1)  # other parts of a detector
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    model = SwinMona(tuning='Mona', **tiny_swin_cfg)
    report = model.load_pretrained(str(path))
    for k, v in source.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    assert report.missing_allowed == sorted(model.adapter_param_names)


def test_wrong_architecture_is_refused_with_shapes(ms_file, tiny_swin_cfg):
    model = SwinMona(tuning='Mona', **dict(tiny_swin_cfg, embed_dims=24))
    with pytest.raises(ValueError, match=r'(?s)shape mismatches.*checkpoint \(16, 3, 4, 4\) vs '
                                         r'model \(24, 3, 4, 4\)'):
        model.load_pretrained(ms_file)


def test_missing_backbone_keys_are_an_error_by_default(tmp_path, tiny_swin_cfg):
    state = SwinMona(tuning='Fixed', **tiny_swin_cfg).state_dict()
    del state['stages.1.blocks.0.norm1.weight']
    path = tmp_path / 'partial.pth'
    torch.save(state, path)
    with pytest.raises(ValueError, match='stages.1.blocks.0.norm1.weight'):
        SwinMona(tuning='Mona', **tiny_swin_cfg).load_pretrained(str(path))
    report = SwinMona(tuning='Mona', **tiny_swin_cfg).load_pretrained(str(path),
                                  strict=False)
    assert report.missing == ['stages.1.blocks.0.norm1.weight']


def test_window_size_change_resizes_bias_tables(ms_file, tiny_swin_cfg):
    model = SwinMona(tuning='Mona', **dict(tiny_swin_cfg, window_size=6))
    report = model.load_pretrained(ms_file)
    assert len(report.resized) == sum(tiny_swin_cfg['depths'])
    assert not report.missing


def test_report_is_logged(ms_file, tiny_swin_cfg):
    logger = MMLogger.get_instance('test_report_is_logged', log_level='INFO')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    SwinMona(tuning='Mona', **tiny_swin_cfg).load_pretrained(ms_file, logger=logger)
    text = '\n'.join(r.getMessage() for r in records)
    assert 'Loaded' in text and 'not in checkpoint, kept at initialisation' in text
