"""Delta checkpoints, merging for deployment, and conversion of official Mona checkpoints."""
import re

import pytest
import torch
import torch.nn as nn

from mona_mm.checkpoints import convert_official_mona, frozen_backbone_keys, load_delta, make_delta
from mona_mm.models import SwinMona, merge_adapters
from tests.conftest import TINY_SWIN
from tests.helpers import microsoft_swin_state_dict


class Detector(nn.Module):
    def __init__(self, tuning='Mona', **kw):
        super().__init__()
        self.backbone = SwinMona(tuning=tuning, **dict(TINY_SWIN, **kw))
        self.neck = nn.Conv2d(128, 8, 1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.neck(self.backbone(x)[-1]))


@pytest.fixture
def base_file(tmp_path):
    path = tmp_path / 'swin_base_ms.pth'
    torch.save({'model': microsoft_swin_state_dict(seed=3, **TINY_SWIN)}, path)
    return str(path)


def trained(base_file, tuning='Mona'):
    torch.manual_seed(0)
    model = Detector(tuning, init_cfg=dict(type='Pretrained', checkpoint=base_file))
    model.backbone.init_weights()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model.train()
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(2, 3, 32, 32)).square().mean().backward()
        opt.step()
    return model.eval()


def test_delta_round_trip_gives_identical_predictions(base_file):
    model = trained(base_file)
    full = {'meta': {'epoch': 1}, 'state_dict': model.state_dict()}
    delta = make_delta(full, model)
    frozen = frozen_backbone_keys(model)
    assert set(delta['state_dict']) == set(full['state_dict']) - frozen
    assert any('.mona1.' in k for k in delta['state_dict'])
    assert 'neck.weight' in delta['state_dict'] and 'bn.running_mean' in delta['state_dict']
    assert delta['meta']['mona_mm_delta']['base'] == base_file
    torch.manual_seed(123)
    fresh = Detector('Mona', init_cfg=dict(type='Pretrained', checkpoint=base_file)).eval()
    load_delta(fresh, delta)
    x = torch.randn(2, 3, 40, 40)
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x))


def test_delta_is_a_small_fraction_of_the_backbone():
    model = Detector('Mona', arch='base', **{k: None for k in ('embed_dims', 'depths',
                                                               'num_heads')})
    state = model.state_dict()
    delta = make_delta({'state_dict': state}, model)
    backbone_delta = sum(v.numel() for k, v in delta['state_dict'].items()
                         if k.startswith('backbone.'))
    backbone_full = sum(v.numel() for k, v in state.items() if k.startswith('backbone.'))
    assert backbone_delta == 3_667_456 and backbone_delta / backbone_full < 0.05


def test_delta_refuses_other_base_weights(base_file, tmp_path):
    model = trained(base_file)
    delta = make_delta({'state_dict': model.state_dict()}, model)
    other = tmp_path / 'other.pth'
    torch.save({'model': microsoft_swin_state_dict(seed=4, **TINY_SWIN)}, other)
    with pytest.raises(ValueError, match='not the ones this delta was trained on'):
        load_delta(Detector('Mona'), delta, base=str(other))
    with pytest.raises(KeyError, match='lacks frozen backbone tensors'):
        make_delta(delta, model)


@pytest.mark.parametrize('tuning,merged', [('Mona', 16), ('LoRA', 8), ('LoRand', 32),
                                           (['Mona', 'LoRA'], 24), ('Adapter', 0)])
def test_merge_matches_unmerged_and_loads_into_deploy(tuning, merged):
    torch.manual_seed(0)
    model = SwinMona(tuning=tuning, **TINY_SWIN).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        assert len(merge_adapters(model)) == merged
        after = model(x)
    for a, b in zip(before, after):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-5)
    deploy = SwinMona(tuning=tuning, deploy=True, **TINY_SWIN).eval()
    deploy.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        for a, b in zip(deploy(x), after):
            assert torch.equal(a, b)


def test_merged_lora_is_a_plain_swin():
    model = SwinMona(tuning='LoRA', deploy=True, **TINY_SWIN)
    plain = SwinMona(tuning='Fixed', **TINY_SWIN)
    assert set(model.state_dict()) == set(plain.state_dict())
    assert type(model.stages[0].blocks[0].attn.w_msa.qkv) is nn.Linear


def official_mona_state_dict(model: SwinMona, names=('my_module_1', 'my_module_2'),
                             microsoft_layout=True):
    """An official-code detector state dict with the real key names, from ``model``'s Monas."""
    if microsoft_layout:  # a detector's Swin: no classifier head/norm, has the output norms
        state = {f'backbone.{k}': v for k, v in microsoft_swin_state_dict(**TINY_SWIN).items()
                 if not k.startswith(('head.', 'norm.'))}
        state.update({f'backbone.{k}': v for k, v in model.state_dict().items()
                      if k.startswith('norm')})
    else:
        state = {f'backbone.{k}': v for k, v in model.state_dict().items() if '.mona' not in k}
    for k, v in model.state_dict().items():
        m = re.match(r'stages\.(\d+)\.blocks\.(\d+)\.mona([12])\.(.*)', k)
        if m:
            prefix = 'layers' if microsoft_layout else 'stages'
            state[f'backbone.{prefix}.{m[1]}.blocks.{m[2]}.{names[int(m[3]) - 1]}.{m[4]}'] = v
    state['neck.fpn_convs.0.conv.weight'] = torch.zeros(2, 2, 3, 3)
    return state


def test_convert_official_mona_checkpoint():
    torch.manual_seed(0)
    source = SwinMona(tuning='Mona', **TINY_SWIN)
    state = official_mona_state_dict(source)
    assert 'backbone.layers.0.blocks.0.my_module_1.adapter_conv.conv1.weight' in state
    converted = convert_official_mona(state)
    assert 'neck.fpn_convs.0.conv.weight' in converted
    target = SwinMona(tuning='Mona', **TINY_SWIN)
    backbone = {k[9:]: v for k, v in converted.items() if k.startswith('backbone.')}
    target.load_state_dict(backbone, strict=True)
    for k, v in source.state_dict().items():
        if '.mona' in k:
            assert torch.equal(target.state_dict()[k], v), k


def test_convert_star_mmrotate_checkpoint():
    torch.manual_seed(0)
    source = SwinMona(tuning='Mona', **TINY_SWIN)
    state = official_mona_state_dict(source, names=('mona1', 'mona2'), microsoft_layout=False)
    converted = convert_official_mona(state)
    target = SwinMona(tuning='Mona', **TINY_SWIN)
    target.load_state_dict({k[9:]: v for k, v in converted.items()
                            if k.startswith('backbone.')}, strict=True)
    for k, v in source.state_dict().items():
        assert torch.equal(target.state_dict()[k], v), k


def test_convert_needs_backbone_keys():
    with pytest.raises(KeyError, match='No "backbone." keys'):
        convert_official_mona({'layers.0.blocks.0.norm1.weight': torch.zeros(1)})


def test_converter_tool_reads_old_pickles(tmp_path):
    """Official checkpoints carry non-tensor objects in meta (mmcv 1.x Config): the tool reads
    them and writes a file that loads under torch's weights-only default."""
    import collections
    import os.path as osp
    import subprocess
    import sys
    torch.manual_seed(0)
    state = official_mona_state_dict(SwinMona(tuning='Mona', **TINY_SWIN))
    src, dst = tmp_path / 'official.pth', tmp_path / 'ours.pth'
    torch.save({'meta': {'config': collections.UserDict(a=1)}, 'state_dict': state}, src)
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    tool = osp.join(root, 'tools', 'model_converters', 'mona_official2mona_mm.py')
    subprocess.run([sys.executable, tool, str(src), str(dst)], check=True, capture_output=True)
    out = torch.load(dst, map_location='cpu')
    assert 'backbone.stages.0.blocks.0.mona1.project1.weight' in out['state_dict']
