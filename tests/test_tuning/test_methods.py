"""The registry-driven matrix: every tuning method on a tiny Swin, plus its paper counts.

Adding a method = one file in mona_mm/tuning/ + one row in ROWS (a test fails until then).
"""
import glob
import os.path as osp

import pytest
import torch
from mmdet.models.backbones import SwinTransformer
from mmengine.config import Config

from mona_mm.models import SwinMona
from mona_mm.tuning import available_methods
from tests.conftest import TINY_SWIN

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def tiny_geometry(cfg=TINY_SWIN):
    """(C, heads) of every block, the stage widths, and the bias-table length of the tiny Swin."""
    widths = [cfg['embed_dims'] * 2**i for i in range(len(cfg['depths']))]
    blocks = [(widths[i], cfg['num_heads'][i]) for i, d in enumerate(cfg['depths'])
              for _ in range(d)]
    return blocks, widths, (2 * cfg['window_size'] - 1)**2


def _mona(b=64):
    return lambda C, h, t: 2 * ((5 + 2 * b) * C + b * b + 88 * b)


def _lorand(C, r=2, n=4, k=8):
    hid = C // r
    return n * (C * k + k * k + k * hid) + hid + n * (hid * k + k * k + k * C) + C


def per_block_formula(fn):
    def count(cfg=TINY_SWIN):
        blocks, _, t = tiny_geometry(cfg)
        return sum(fn(C, h, t) for C, h in blocks)
    return count


def bitfit_count(cfg=TINY_SWIN):
    blocks, widths, t = tiny_geometry(cfg)
    return (2 * widths[0] + sum(11 * C + t * h for C, h in blocks) +
            sum(4 * C for C in widths[:-1]) + sum(widths))


def norm_count(cfg=TINY_SWIN):
    blocks, widths, _ = tiny_geometry(cfg)
    return (2 * widths[0] + sum(4 * C for C, _ in blocks) + sum(8 * C for C in widths[:-1]) +
            sum(2 * C for C in widths))


def partial_count(cfg=TINY_SWIN):
    blocks, _, t = tiny_geometry(cfg)
    C, h = blocks[-1]
    return 12 * C * C + 13 * C + t * h


def full_count(cfg=TINY_SWIN):  # independent source: mmdet's own SwinTransformer
    return sum(p.numel() for p in SwinTransformer(**cfg).parameters())


# name -> (tuning cfg, count formula on TINY_SWIN, Swin-B count, Swin-L count) from MONA_SPEC s.4
ROWS = {
    'Mona': (dict(type='Mona'), per_block_formula(_mona()), 3_667_456, 5_267_712),
    'Adapter': (dict(type='Adapter'),
                per_block_formula(lambda C, h, t: 2 * (129 * C + 64)), 3_107_328, 4_659_456),
    'LoRA': (dict(type='LoRA'), per_block_formula(lambda C, h, t: 4 * 64 * C), 3_080_192,
             4_620_288),
    'AdaptFormer': (dict(type='AdaptFormer'), per_block_formula(lambda C, h, t: 129 * C + 64),
                    1_553_664, 2_329_728),
    'Partial': (dict(type='Partial'), partial_count, 12_601_632, 28_339_632),
    'BitFit': (dict(type='BitFit'), bitfit_count, 201_656, 302_484),
    'NormTuning': (dict(type='NormTuning'), norm_count, 59_392, 89_088),
    'LoRand': (dict(type='LoRand'), per_block_formula(lambda C, h, t: 2 * _lorand(C)),
               2_370_816, 3_543_936),
    'Fixed': (dict(type='Fixed'), lambda cfg=TINY_SWIN: 0, 0, 0),
    'Full': (dict(type='Full'), full_count, 86_745_016, 194_998_164),
}
METHODS = sorted(ROWS)


def trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def build(name, seed=0, **kw):
    torch.manual_seed(seed)
    return SwinMona(tuning=ROWS[name][0], **dict(TINY_SWIN, **kw))


def test_every_registered_method_has_a_row():
    assert sorted(available_methods()) == METHODS


@pytest.mark.parametrize('name', METHODS)
def test_count_matches_spec_formula(name):
    assert sum(p.numel() for p in build(name).parameters() if p.requires_grad) == ROWS[name][1]()


@pytest.mark.parametrize('name', METHODS)
@pytest.mark.parametrize('arch,column', [('base', 2), ('large', 3)])
def test_paper_counts(name, arch, column):
    model = SwinMona(arch=arch, tuning=ROWS[name][0])
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == ROWS[name][column]


def test_swin_l_voc_variants_match_the_official_logs():
    kw = dict(arch='large', out_indices=(1, 2, 3), frozen_stages=1)
    bitfit = SwinMona(tuning='BitFit', **kw)
    assert sum(p.numel() for p in bitfit.parameters() if p.requires_grad) == 301_908
    assert sum(p.numel() for p in SwinMona(tuning='Full', **kw).parameters()) == 194_997_780


@pytest.mark.parametrize('name', METHODS)
def test_forward_backward_grads_only_where_intended(name):
    model = build(name).train()
    outs = model(torch.randn(2, 3, 48, 40))
    assert [o.shape[1] for o in outs] == [16, 32, 64, 128]
    if name == 'Fixed':
        assert not any(o.requires_grad for o in outs)
        return
    sum(o.square().mean() for o in outs).backward()
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None}
    assert with_grad == trainable(model) == model.trainable_param_names


@pytest.mark.parametrize('name', sorted(set(METHODS) - {'Fixed'}))
def test_optimiser_steps_move_only_trainable_tensors(name):
    model = build(name).train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    for _ in range(3):
        opt.zero_grad()
        sum(o.square().mean() for o in model(torch.randn(2, 3, 32, 32))).backward()
        opt.step()
    for n, p in model.named_parameters():
        moved = not torch.equal(p, before[n])
        assert moved == (n in model.trainable_param_names), n


@pytest.mark.parametrize('name', METHODS)
def test_state_dict_round_trip(name):
    a, b = build(name, seed=0).eval(), build(name, seed=1).eval()
    with torch.no_grad():  # make every tensor non-trivial (LoRA's B starts at zero)
        for p in a.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    b.load_state_dict(a.state_dict(), strict=True)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for oa, ob in zip(a(x), b(x)):
            assert torch.equal(oa, ob)
    assert trainable(b) == trainable(a)


@pytest.mark.parametrize('name', METHODS)
def test_a_coco_leaf_config_exists_and_selects_the_method(name):
    leaves = glob.glob(osp.join(ROOT, 'configs', 'coco', 'cascade-mask-rcnn_swin-b-*.py'))
    types = {Config.fromfile(p).model.backbone.tuning['type'] for p in leaves}
    assert name in types  # tests/test_configs.py builds every one of them


def test_lora_starts_as_an_exact_identity():
    lora, fixed = build('LoRA').eval(), build('Fixed').eval()
    fixed.load_state_dict({k: v for k, v in lora.state_dict().items() if 'lora_' not in k})
    x = torch.randn(1, 3, 40, 40)
    with torch.no_grad():
        for a, b in zip(lora(x), fixed(x)):
            assert torch.equal(a, b)
    qkv = lora.stages[0].blocks[0].attn.w_msa.qkv
    assert set(dict(qkv.named_parameters())) == {'weight', 'bias', 'lora_A', 'lora_B'}
    assert qkv.lora_A.shape == (2, 64, 16) and torch.all(qkv.lora_B == 0)


def test_lora_updates_q_and_v_only():
    model = build('LoRA')
    qkv = model.stages[3].blocks[1].attn.w_msa.qkv
    with torch.no_grad():
        qkv.lora_B.normal_()
    delta = qkv.delta_weight()
    c = qkv.in_features
    assert delta[c:2 * c].abs().sum() == 0 and delta[:c].abs().sum() > 0 and delta[2 * c:].abs(
    ).sum() > 0
    x = torch.randn(5, c)
    torch.testing.assert_close(qkv(x), x @ (qkv.weight + delta).t() + qkv.bias)


@pytest.mark.parametrize('name,slots', [('Adapter', {'attn_branch': ['adapter1'],
                                                     'ffn_branch': ['adapter2']}),
                                        ('LoRand', {'attn_branch': ['lorand1'],
                                                    'ffn_branch': ['lorand2']}),
                                        ('AdaptFormer', {'ffn_parallel': ['adaptformer']}),
                                        ('Mona', {'attn_out': ['mona1'], 'ffn_out': ['mona2']})])
def test_placements(name, slots):
    block = build(name).stages[1].blocks[0]
    assert {k: v for k, v in block.slots.items() if v} == slots


def test_adapter_and_adaptformer_formulas_in_a_block():
    """AdaptFormer adds exactly 0.1 * up(gelu(down(x))) next to the MLP; with zeroed up
    projections both adapters reproduce the plain block."""
    import torch.nn.functional as F
    plain = build('Fixed').eval()
    for name in ('Adapter', 'AdaptFormer'):
        model = build(name).eval()
        model.load_state_dict(plain.state_dict(), strict=False)
        block, ref = model.stages[0].blocks[0], plain.stages[0].blocks[0]
        x = torch.randn(2, 64, 16)
        with torch.no_grad():
            if name == 'AdaptFormer':
                ad = block.adaptformer
                mid = x + ref.attn(ref.norm1(x), (8, 8))  # the MLP branch's input
                expected = ref(x, (8, 8)) + 0.1 * ad.up(F.gelu(ad.down(mid)))
                torch.testing.assert_close(block(x, (8, 8)), expected)
            for p in block.parameters():
                if p.requires_grad and p.dim() == 2 and p.shape[0] == 16:
                    p.zero_()  # the up projections
            for p in (getattr(block, n).up.bias for s in block.slots.values() for n in s):
                p.zero_()
            torch.testing.assert_close(block(x, (8, 8)), ref(x, (8, 8)))


def test_bitfit_and_normtuning_clean_variants():
    paper = trainable(build('BitFit'))
    clean = trainable(SwinMona(tuning=dict(type='BitFit', include_bias_tables=False), **TINY_SWIN))
    assert paper - clean == {n for n in paper if 'relative_position_bias_table' in n} != set()
    paper = trainable(build('NormTuning'))
    clean = trainable(SwinMona(tuning=dict(type='NormTuning', include_out_norms=False),
                               **TINY_SWIN))
    assert paper - clean == {n for n in paper if n.startswith('norm')} != set()


def test_partial_takes_the_last_blocks():
    model = SwinMona(tuning=dict(type='Partial', num_blocks=3), **TINY_SWIN)
    assert {'.'.join(n.split('.')[:4]) for n in trainable(model)} == {
        'stages.2.blocks.1', 'stages.3.blocks.0', 'stages.3.blocks.1'}
    with pytest.raises(ValueError, match='num_blocks=99 but the backbone has 8 blocks'):
        SwinMona(tuning=dict(type='Partial', num_blocks=99), **TINY_SWIN)


def test_combinations():
    combo = SwinMona(tuning=['Mona', 'BitFit'], **TINY_SWIN)
    assert trainable(combo) == trainable(build('Mona')) | trainable(build('BitFit'))
    combo = SwinMona(tuning=['LoRA', 'Adapter'], **TINY_SWIN)
    assert len(trainable(combo)) == len(trainable(build('LoRA'))) + len(
        trainable(build('Adapter')))
    for bad in (['Fixed', 'Mona'], ['Full', 'BitFit']):
        with pytest.raises(ValueError, match='cannot be combined'):
            SwinMona(tuning=bad, **TINY_SWIN)
    with pytest.raises(ValueError, match='more than once'):
        SwinMona(tuning=['LoRA', dict(type='LoRA', rank=4)], **TINY_SWIN)


def test_unknown_lora_target_lists_valid_ones():
    with pytest.raises(ValueError, match=r"targets \['x'\].*\['k', 'q', 'v'\]"):
        SwinMona(tuning=dict(type='LoRA', targets=['x']), **TINY_SWIN)
