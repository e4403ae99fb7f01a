"""The registry-driven matrix: every tuning method on both backbone families (a tiny Swin and a
tiny ViT with layer scale and register tokens), plus the paper's Swin counts.

Adding a method = one file in mona_mm/tuning/ + one row in ROWS (a test fails until then).
Adding a backbone family = one entry in FAMILIES (its tiny config and its parameter counts).
"""
import glob
import os.path as osp
from typing import Callable, List, NamedTuple, Tuple

import pytest
import torch
from mmdet.models.backbones import SwinTransformer
from mmengine.config import Config
from mmseg.models.backbones import VisionTransformer

from mona_mm.models import SwinMona, ViTMona
from mona_mm.tuning import available_methods
from tests.conftest import TINY_SWIN

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# a ViT small enough for CPU tests with every structural feature: class and register tokens
# (off Mona's map), layer scale, several heads, outputs from two blocks
TINY_VIT = dict(embed_dims=32, num_layers=4, num_heads=2, patch_size=8, img_size=32,
                out_indices=(1, 3), num_register_tokens=2, layer_scale_init_value=0.1)


def tiny_geometry(cfg=TINY_SWIN):
    """(C, heads) of every block, the stage widths, and the bias-table length of the tiny Swin."""
    widths = [cfg['embed_dims'] * 2**i for i in range(len(cfg['depths']))]
    blocks = [(widths[i], cfg['num_heads'][i]) for i, d in enumerate(cfg['depths'])
              for _ in range(d)]
    return blocks, widths, (2 * cfg['window_size'] - 1)**2


class Family(NamedTuple):
    """A backbone family in the matrix: how to build its tiny model, and the counts of the
    methods that select pretrained parameters, from its structure (the adapters' counts are per
    block, from ``blocks``)."""
    build: Callable[..., torch.nn.Module]
    blocks: List[Tuple[int, int, int]]  # (channels, heads, bias-table length) of every block
    bitfit: int
    norm: int
    partial: int
    full: int
    out_channels: List[int]


def swin_family(cfg=TINY_SWIN) -> Family:
    blocks, widths, t = tiny_geometry(cfg)
    C, h = blocks[-1]
    return Family(
        build=lambda tuning, **kw: SwinMona(tuning=tuning, **dict(cfg, **kw)),
        blocks=[(c, heads, t) for c, heads in blocks],
        bitfit=(2 * widths[0] + sum(11 * c + t * heads for c, heads in blocks) +
                sum(4 * c for c in widths[:-1]) + sum(widths)),
        norm=(2 * widths[0] + sum(4 * c for c, _ in blocks) + sum(8 * c for c in widths[:-1]) +
              sum(2 * c for c in widths)),
        partial=12 * C * C + 13 * C + t * h,
        full=sum(p.numel() for p in SwinTransformer(**cfg).parameters()),  # mmdet's own Swin
        out_channels=widths)


def vit_family(cfg=TINY_VIT) -> Family:
    C, depth, outs = cfg['embed_dims'], cfg['num_layers'], len(cfg['out_indices'])
    stock = VisionTransformer(  # mmseg's own ViT (with timm's patch bias) ...
        img_size=cfg['img_size'], patch_size=cfg['patch_size'], embed_dims=C, num_layers=depth,
        num_heads=cfg['num_heads'], patch_bias=True)
    # ... plus what it lacks: layer scale, register tokens, output norms
    extra = depth * 2 * C + cfg['num_register_tokens'] * C + outs * 2 * C
    return Family(
        build=lambda tuning, **kw: ViTMona(tuning=tuning, **dict(cfg, **kw)),
        blocks=[(C, cfg['num_heads'], 0)] * depth,
        bitfit=C + depth * 11 * C + outs * C,  # patch conv, qkv/proj/fc1/fc2/norms, out norms
        norm=depth * 4 * C + outs * 2 * C,
        partial=12 * C * C + 13 * C + 2 * C,  # the last block, its layer scales included
        full=sum(p.numel() for p in stock.parameters()) + extra,
        out_channels=[C] * outs)


FAMILIES = {'swin': swin_family(), 'vit': vit_family()}
FAMILY_NAMES = sorted(FAMILIES)


def _mona(b=64):
    return lambda C, h, t: 2 * ((5 + 2 * b) * C + b * b + 88 * b)


def _lorand(C, r=2, n=4, k=8):
    hid = C // r
    return n * (C * k + k * k + k * hid) + hid + n * (hid * k + k * k + k * C) + C


def per_block_formula(fn):
    def count(family: Family) -> int:
        return sum(fn(C, h, t) for C, h, t in family.blocks)
    return count


# name -> (tuning cfg, count formula of a Family, Swin-B count, Swin-L count) (docs/spec.md s.4)
ROWS = {
    'Mona': (dict(type='Mona'), per_block_formula(_mona()), 3_667_456, 5_267_712),
    'Adapter': (dict(type='Adapter'),
                per_block_formula(lambda C, h, t: 2 * (129 * C + 64)), 3_107_328, 4_659_456),
    'LoRA': (dict(type='LoRA'), per_block_formula(lambda C, h, t: 4 * 64 * C), 3_080_192,
             4_620_288),
    'AdaptFormer': (dict(type='AdaptFormer'), per_block_formula(lambda C, h, t: 129 * C + 64),
                    1_553_664, 2_329_728),
    'Partial': (dict(type='Partial'), lambda f: f.partial, 12_601_632, 28_339_632),
    'BitFit': (dict(type='BitFit'), lambda f: f.bitfit, 201_656, 302_484),
    'NormTuning': (dict(type='NormTuning'), lambda f: f.norm, 59_392, 89_088),
    'LoRand': (dict(type='LoRand'), per_block_formula(lambda C, h, t: 2 * _lorand(C)),
               2_370_816, 3_543_936),
    'Fixed': (dict(type='Fixed'), lambda f: 0, 0, 0),
    'Full': (dict(type='Full'), lambda f: f.full, 86_745_016, 194_998_164),
}
METHODS = sorted(ROWS)


def trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def build(name, seed=0, family='swin', **kw):
    torch.manual_seed(seed)
    return FAMILIES[family].build(ROWS[name][0], **kw)


def test_every_registered_method_has_a_row():
    assert sorted(available_methods()) == METHODS


@pytest.mark.parametrize('family', FAMILY_NAMES)
@pytest.mark.parametrize('name', METHODS)
def test_count_matches_spec_formula(name, family):
    model = build(name, family=family)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == ROWS[name][1](
        FAMILIES[family])


@pytest.mark.parametrize('name', METHODS)
@pytest.mark.parametrize('arch,column', [('base', 2), ('large', 3)])
def test_paper_counts(name, arch, column):
    model = SwinMona(arch=arch, tuning=ROWS[name][0])
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == ROWS[name][column]


def test_swin_l_voc_variants_match_the_official_logs():
    kw = dict(arch='large', out_indices=(1, 2, 3), frozen_stages=0)  # official: 1
    bitfit = SwinMona(tuning='BitFit', **kw)
    assert sum(p.numel() for p in bitfit.parameters() if p.requires_grad) == 301_908
    assert sum(p.numel() for p in SwinMona(tuning='Full', **kw).parameters()) == 194_997_780


@pytest.mark.parametrize('family', FAMILY_NAMES)
@pytest.mark.parametrize('name', METHODS)
def test_forward_backward_grads_only_where_intended(name, family):
    model = build(name, family=family).train()
    outs = model(torch.randn(2, 3, 48, 40))
    assert [o.shape[1] for o in outs] == FAMILIES[family].out_channels
    if name == 'Fixed':
        assert not any(o.requires_grad for o in outs)
        return
    sum(o.square().mean() for o in outs).backward()
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None}
    assert with_grad == trainable(model) == model.trainable_param_names


@pytest.mark.parametrize('family', FAMILY_NAMES)
@pytest.mark.parametrize('name', sorted(set(METHODS) - {'Fixed'}))
def test_optimiser_steps_move_only_trainable_tensors(name, family):
    model = build(name, family=family).train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    for _ in range(3):
        opt.zero_grad()
        sum(o.square().mean() for o in model(torch.randn(2, 3, 32, 32))).backward()
        opt.step()
    for n, p in model.named_parameters():
        moved = not torch.equal(p, before[n])
        assert moved == (n in model.trainable_param_names), n


@pytest.mark.parametrize('family', FAMILY_NAMES)
@pytest.mark.parametrize('name', METHODS)
def test_state_dict_round_trip(name, family):
    a, b = build(name, seed=0, family=family).eval(), build(name, seed=1, family=family).eval()
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


@pytest.mark.parametrize('family,qkv_key', [('swin', 'stages.0.blocks.0.attn.w_msa.qkv'),
                                             ('vit', 'blocks.0.attn.qkv')])
def test_lora_starts_as_an_exact_identity(family, qkv_key):
    lora, fixed = build('LoRA', family=family).eval(), build('Fixed', family=family).eval()
    fixed.load_state_dict({k: v for k, v in lora.state_dict().items() if 'lora_' not in k})
    x = torch.randn(1, 3, 40, 40)
    with torch.no_grad():
        for a, b in zip(lora(x), fixed(x)):
            assert torch.equal(a, b)
    qkv = lora.get_submodule(qkv_key)  # the family's fused qkv, its keys unchanged
    assert set(dict(qkv.named_parameters())) == {'weight', 'bias', 'lora_A', 'lora_B'}
    channels = FAMILIES[family].blocks[0][0]
    assert qkv.lora_A.shape == (2, 64, channels) and torch.all(qkv.lora_B == 0)


@pytest.mark.parametrize('family', FAMILY_NAMES)
def test_lora_updates_q_and_v_only(family):
    model = build('LoRA', family=family)
    qkv = model.select_blocks()[-1].qkv
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
@pytest.mark.parametrize('family', FAMILY_NAMES)
def test_placements(name, slots, family):
    for block in build(name, family=family).select_blocks():
        assert {k: v for k, v in block.slots.items() if v} == slots


# tokens of the first block: Swin's 8 x 8 map; the ViT's 4 x 4 map behind its class token and
# two register tokens
@pytest.mark.parametrize('family,hw,leading', [('swin', (8, 8), 0), ('vit', (4, 4), 3)])
def test_adapter_and_adaptformer_formulas_in_a_block(family, hw, leading):
    """AdaptFormer adds exactly 0.1 * up(gelu(down(x))) next to the MLP; with zeroed up
    projections both adapters reproduce the plain block."""
    import torch.nn.functional as F
    plain = build('Fixed', family=family).eval()
    for name in ('Adapter', 'AdaptFormer'):
        model = build(name, family=family).eval()
        model.load_state_dict(plain.state_dict(), strict=False)
        block, ref = model.select_blocks()[0], plain.select_blocks()[0]
        channels = block.embed_dims
        x = torch.randn(2, leading + hw[0] * hw[1], channels)
        with torch.no_grad():
            if name == 'AdaptFormer':
                ad = block.adaptformer
                mid = x + ref.residual_attn(x, hw)  # the MLP branch's input
                expected = ref(x, hw) + 0.1 * ad.up(F.gelu(ad.down(mid)))
                torch.testing.assert_close(block(x, hw), expected)
            for p in block.parameters():
                if p.requires_grad and p.dim() == 2 and p.shape[0] == channels:
                    p.zero_()  # the up projections
            for p in (getattr(block, n).up.bias for s in block.slots.values() for n in s):
                p.zero_()
            torch.testing.assert_close(block(x, hw), ref(x, hw))


def test_bitfit_and_normtuning_clean_variants():
    paper = trainable(build('BitFit'))
    clean = trainable(SwinMona(tuning=dict(type='BitFit', include_bias_tables=False), **TINY_SWIN))
    assert paper - clean == {n for n in paper if 'relative_position_bias_table' in n} != set()
    paper = trainable(build('NormTuning'))
    clean = trainable(SwinMona(tuning=dict(type='NormTuning', include_out_norms=False),
                               **TINY_SWIN))
    assert paper - clean == {n for n in paper if n.startswith('norm')} != set()


@pytest.mark.parametrize('family,last_three,depth', [
    ('swin', {'stages.2.blocks.1', 'stages.3.blocks.0', 'stages.3.blocks.1'}, 8),
    ('vit', {'blocks.1', 'blocks.2', 'blocks.3'}, 4)])
def test_partial_takes_the_last_blocks(family, last_three, depth):
    build_family = FAMILIES[family].build
    names = trainable(build_family(dict(type='Partial', num_blocks=3)))
    assert all(any(n.startswith(f'{b}.') for b in last_three) for n in names)
    assert all(any(n.startswith(f'{b}.') for n in names) for b in last_three)
    with pytest.raises(ValueError, match=f'num_blocks=99 but the backbone has {depth} blocks'):
        build_family(dict(type='Partial', num_blocks=99))


@pytest.mark.parametrize('family', FAMILY_NAMES)
def test_combinations(family):
    build_family = FAMILIES[family].build
    combo = build_family(['Mona', 'BitFit'])
    assert trainable(combo) == trainable(build('Mona', family=family)) | trainable(
        build('BitFit', family=family))
    combo = build_family(['LoRA', 'Adapter'])
    assert len(trainable(combo)) == len(trainable(build('LoRA', family=family))) + len(
        trainable(build('Adapter', family=family)))
    for bad in (['Fixed', 'Mona'], ['Full', 'BitFit']):
        with pytest.raises(ValueError, match='cannot be combined'):
            build_family(bad)
    with pytest.raises(ValueError, match='more than once'):
        build_family(['LoRA', dict(type='LoRA', rank=4)])


def test_unknown_lora_target_lists_valid_ones():
    with pytest.raises(ValueError, match=r"targets \['x'\].*\['k', 'q', 'v'\]"):
        SwinMona(tuning=dict(type='LoRA', targets=['x']), **TINY_SWIN)
