"""ViTMona: equality with mmseg's VisionTransformer on the same weights (no adapter, zeroed Mona),
a DINOv2 reference forward (layer scale, registers), frozen_stages, outputs, checkpointing."""
import pytest
import torch
import torch.nn.functional as F
from mmseg.models.backbones import VisionTransformer

from mona_mm.models import ViTMona
from tests.helpers import assert_same_training_step, vit_state_dict

# small, but with every structural feature: several heads, a corner-padded patch embedding,
# outputs from two blocks
TINY = dict(embed_dims=32, num_layers=4, num_heads=2, patch_size=8, img_size=32,
            out_indices=(1, 3))


def mmseg_and_ours(tuning='Fixed', with_cls_token=True, final_norm=False, out_norms=False,
                   seed=0, **shared):
    """mmseg's ViT with random non-trivial weights, and ViTMona loaded from its state dict
    through the mmseg-converted layout (the same mapping that loads vit2mmseg files); both
    built with the arguments ``shared`` too."""
    torch.manual_seed(seed)
    stock = VisionTransformer(
        img_size=TINY['img_size'], patch_size=TINY['patch_size'], embed_dims=TINY['embed_dims'],
        num_layers=TINY['num_layers'], num_heads=TINY['num_heads'],
        out_indices=TINY['out_indices'], with_cls_token=with_cls_token, final_norm=final_norm,
        norm_cfg=dict(type='LN', eps=1e-6), patch_bias=True, **shared)  # timm's patch bias
    stock.eval()  # mmseg's train() returns None
    with torch.no_grad():
        for p in stock.parameters():
            p.normal_(0, 0.2)
    ours = ViTMona(tuning=tuning, with_cls_token=with_cls_token, final_norm=final_norm,
                   out_norms=out_norms, **TINY, **shared).eval()
    report = ours.load_pretrained(stock.state_dict(), strict=True)
    assert report.source_format == 'mmseg-converted'
    assert not report.missing and not report.unexpected and not report.resized
    return stock, ours


# 32x32: the position grid as it is; 48x40: interpolated at forward time (bicubic);
# 45x37: also corner-padded to multiples of the patch
@pytest.mark.parametrize('hw', [(32, 32), (48, 40), (45, 37)])
@pytest.mark.parametrize('with_cls_token,final_norm', [(True, False), (False, True)])
def test_no_adapter_equals_mmseg_vit(hw, with_cls_token, final_norm):
    stock, ours = mmseg_and_ours(with_cls_token=with_cls_token, final_norm=final_norm)
    x = torch.randn(2, 3, *hw)
    with torch.no_grad():
        expected, got = stock(x), ours(x)
    assert len(got) == len(expected) == 2
    for a, b in zip(expected, got):
        assert a.shape == b.shape == (2, 32, -(-hw[0] // 8), -(-hw[1] // 8))
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


def test_output_norms_normalise_mmseg_outputs():
    """``out_norms=True`` (the default) is mmseg's output through one LayerNorm per map."""
    stock, ours = mmseg_and_ours(out_norms=True)
    with torch.no_grad():
        for name, p in ours.named_parameters():
            if name in ours.out_norm_names():
                p.normal_()
        x = torch.randn(1, 3, 40, 32)
        for i, a, b in zip(TINY['out_indices'], stock(x), ours(x)):
            norm = getattr(ours, f'norm{i}')
            a = F.layer_norm(a.permute(0, 2, 3, 1), (32, ), norm.weight, norm.bias, 1e-6)
            torch.testing.assert_close(b, a.permute(0, 3, 1, 2), rtol=1e-5, atol=1e-5)


def test_zeroed_mona_equals_mmseg_vit():
    stock, ours = mmseg_and_ours(tuning=dict(type='Mona', bottleneck=8))
    x = torch.randn(1, 3, 40, 48)
    with torch.no_grad():
        assert not torch.allclose(stock(x)[-1], ours(x)[-1])  # Mona is active
        for name, p in ours.named_parameters():
            if 'project2' in name:
                p.zero_()
        for a, b in zip(stock(x), ours(x)):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


def dinov2_interpolate_pos_encoding(pos_embed, x, patch_size, offset, antialias):
    """DINOv2's ``interpolate_pos_encoding`` (facebookresearch/dinov2,
    models/vision_transformer.py) written out with its own names: the image's dim 2 is its ``w``,
    ``scale_factor = (w0 + offset) / M`` with an offset, ``size`` without one; the hub models
    without registers use offset 0.1, no antialias, those with registers offset 0, antialias."""
    _, _, w, h = x.shape
    npatch, n = (w // patch_size) * (h // patch_size), pos_embed.shape[1] - 1
    if npatch == n and w == h:
        return pos_embed
    class_pos_embed, patch_pos_embed = pos_embed[:, 0], pos_embed[:, 1:]
    dim, w0, h0, m = pos_embed.shape[-1], w // patch_size, h // patch_size, int(n**0.5)
    kwargs = dict(scale_factor=((w0 + offset) / m, (h0 + offset) / m)) if offset else dict(
        size=(w0, h0))
    patch_pos_embed = F.interpolate(patch_pos_embed.reshape(1, m, m, dim).permute(0, 3, 1, 2),
                                    mode='bicubic', antialias=antialias, **kwargs)
    assert (w0, h0) == patch_pos_embed.shape[-2:]
    patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
    return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)


def dinov2_reference(sd, x, patch_size, num_heads, eps=1e-6):
    """DINOv2's ``forward_features(x)['x_norm_patchtokens']`` written out from the published
    architecture (facebookresearch/dinov2, models/vision_transformer.py and layers/block.py) with
    the hub models' position interpolation: patch conv; class token; + pos_embed; register tokens
    after the class token; per block ``x + ls1 * attn(norm1(x))``, ``x + ls2 * mlp(norm2(x))``
    with softmax(q k^T / sqrt(d)) v attention and an exact-GELU MLP; the final norm."""
    b, c = x.shape[0], sd['cls_token'].shape[-1]
    t = F.conv2d(x, sd['patch_embed.proj.weight'], sd['patch_embed.proj.bias'],
                 stride=patch_size).flatten(2).transpose(1, 2)
    num_reg = sd['register_tokens'].shape[1] if 'register_tokens' in sd else 0
    pos = dinov2_interpolate_pos_encoding(sd['pos_embed'], x, patch_size, 0. if num_reg else 0.1,
                                          antialias=bool(num_reg))
    t = torch.cat([sd['cls_token'].expand(b, -1, -1), t], dim=1) + pos
    if num_reg:
        t = torch.cat([t[:, :1], sd['register_tokens'].expand(b, -1, -1), t[:, 1:]], dim=1)
    n, d = t.shape[1], c // num_heads
    depth = 1 + max(int(k.split('.')[1]) for k in sd if k.startswith('blocks.'))
    for i in range(depth):
        w = {k[len(f'blocks.{i}.'):]: v for k, v in sd.items() if k.startswith(f'blocks.{i}.')}
        h = F.layer_norm(t, (c, ), w['norm1.weight'], w['norm1.bias'], eps)
        q, k, v = F.linear(h, w['attn.qkv.weight'], w['attn.qkv.bias']).reshape(
            b, n, 3, num_heads, d).permute(2, 0, 3, 1, 4)
        a = ((q * d**-0.5) @ k.transpose(-2, -1)).softmax(dim=-1) @ v
        a = F.linear(a.transpose(1, 2).reshape(b, n, c), w['attn.proj.weight'],
                     w['attn.proj.bias'])
        t = t + w['ls1.gamma'] * a
        h = F.layer_norm(t, (c, ), w['norm2.weight'], w['norm2.bias'], eps)
        m = F.linear(F.gelu(F.linear(h, w['mlp.fc1.weight'], w['mlp.fc1.bias'])),
                     w['mlp.fc2.weight'], w['mlp.fc2.bias'])
        t = t + w['ls2.gamma'] * m
    t = F.layer_norm(t, (c, ), sd['norm.weight'], sd['norm.bias'], eps)
    return t[:, 1 + num_reg:]


@pytest.mark.parametrize('registers', [0, 4])
def test_dinov2_layer_scale_and_registers_equal_the_reference_forward(registers):
    grid, patch, heads = 4, 14, 2
    sd = vit_state_dict('dinov2', embed_dims=32, depth=3, patch_size=patch, grid=grid,
                        num_register_tokens=registers)
    model = ViTMona(embed_dims=32, num_layers=3, num_heads=heads, patch_size=patch,
                    img_size=grid * patch, layer_scale_init_value=1.0,
                    num_register_tokens=registers, final_norm=True, out_norms=False,
                    out_indices=(2, ), tuning='Fixed').eval()
    report = model.load_pretrained(dict(sd))
    assert report.source_format.startswith('DINOv2') and report.ignored == ['mask_token']
    x = torch.randn(2, 3, grid * patch, grid * patch)
    with torch.no_grad():
        expected = dinov2_reference(sd, x, patch, heads)
        (got, ) = model(x)
    torch.testing.assert_close(got.flatten(2).transpose(1, 2), expected, rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # the registers take part in attention: changing them changes the map
        model.reg_token.add_(1.0) if registers else model.blocks[0].ls1.gamma.mul_(2)
        assert not torch.allclose(model(x)[0], got)


def test_dinov2_with_registers_works_with_mona():
    model = ViTMona(embed_dims=32, num_layers=2, num_heads=2, patch_size=14, img_size=56,
                    layer_scale_init_value=1.0, num_register_tokens=4,
                    tuning=dict(type='Mona', bottleneck=8)).train()
    outs = model(torch.randn(2, 3, 60, 50))  # 5 x 4 patches, interpolated position grid
    assert [o.shape for o in outs] == [(2, 32, 5, 4)] * 2
    sum(o.square().mean() for o in outs).backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if '.mona' in n)
    assert model.reg_token.grad is None and not model.reg_token.requires_grad


def test_default_out_indices_and_arch():
    small = ViTMona(arch='small', tuning='Fixed')
    assert small.out_indices == (2, 5, 8, 11) and len(small.blocks) == 12
    assert small.pos_embed.shape == (1, 1 + 14 * 14, 384)  # 224 px, patch 16
    assert ViTMona._resolve_out_indices(None, 24) == (5, 11, 17, 23)  # ViT-L
    dinov2 = ViTMona(arch='small', tuning='Fixed', patch_size=14, img_size=518)
    assert dinov2.pos_embed.shape == (1, 1 + 37 * 37, 384)
    # 512 px with patch 14: the corner-padded image has 37 x 37 patches, the grid it is built for
    assert ViTMona(tuning='Fixed', **dict(TINY, patch_size=14, img_size=512)).pos_grid == (37, 37)
    assert ViTMona(tuning='Fixed', **dict(TINY, out_indices=(-1, ))).out_indices == (3, )
    with pytest.raises(ValueError, match=r'out_indices \[7\] do not exist'):
        ViTMona(**dict(TINY, out_indices=(1, 7)))
    with pytest.raises(KeyError, match='Unknown ViT arch'):
        ViTMona(arch='giant')


def test_frozen_stages_count_from_the_input():
    def frozen(fs):
        model = ViTMona(tuning='Full', frozen_stages=fs, num_register_tokens=2, **TINY).train()
        return model, {n.split('.')[0] if not n.startswith('blocks') else '.'.join(
            n.split('.')[:2]) for n, p in model.named_parameters() if not p.requires_grad}

    assert frozen(-1)[1] == set()
    assert frozen(0)[1] == {'patch_embed'}
    assert frozen(1)[1] == {'patch_embed', 'pos_embed', 'cls_token', 'reg_token'}
    model, names = frozen(3)
    assert names == {'patch_embed', 'pos_embed', 'cls_token', 'reg_token', 'blocks.0',
                     'blocks.1'}
    assert not model.blocks[1].training and model.blocks[2].training


def test_output_norms_frozen_by_default_and_configurable():
    default = ViTMona(tuning='Mona', **TINY)
    assert default.out_norm_names() == {f'norm{i}.{p}' for i in (1, 3) for p in ('weight', 'bias')}
    assert not any(p.requires_grad for n, p in default.named_parameters()
                   if n in default.out_norm_names())
    opt_in = ViTMona(tuning='Mona', train_out_norms=True, **TINY)
    assert all(p.requires_grad for n, p in opt_in.named_parameters()
               if n in opt_in.out_norm_names())
    assert ViTMona(tuning='Mona', out_norms=False, **TINY).out_norm_names() == set()


def test_scratch_init_keeps_layer_scale_and_adapters():
    model = ViTMona(tuning=dict(type='Mona', bottleneck=8), layer_scale_init_value=1e-5, **TINY)
    gamma = model.blocks[0].mona1.gamma.detach().clone()
    model.init_weights()
    assert torch.equal(model.blocks[0].mona1.gamma, gamma)
    assert torch.all(model.blocks[0].ls1.gamma == 1e-5)
    assert model.pos_embed.std() > 0.01 and model.cls_token.abs().sum() > 0
    assert {n for n, p in model.named_parameters() if p.requires_grad} == \
        model.adapter_param_names


def test_with_cp_same_output_and_grads():
    torch.manual_seed(0)
    plain = ViTMona(tuning=dict(type='Mona', bottleneck=8), **TINY).train()
    ckpt = ViTMona(tuning=dict(type='Mona', bottleneck=8), with_cp=True, **TINY).train()
    ckpt.load_state_dict(plain.state_dict())
    assert_same_training_step([plain, ckpt], torch.randn(1, 3, 32, 40), seed=1)


def test_drop_path_stays_active_in_frozen_blocks():
    model = ViTMona(tuning='Mona', drop_path_rate=0.5, **TINY).train()
    x = torch.randn(1, 3, 32, 32)
    torch.manual_seed(1)
    a = model(x)[-1]
    torch.manual_seed(2)
    assert not torch.equal(a, model(x)[-1])


@pytest.mark.parametrize('tuning', ['Mona', 'LoRA', ['Mona', 'LoRA']])
def test_merge_for_deployment_matches_and_loads_into_deploy(tuning):
    """Mona and LoRA fold into plain layers on the ViT too (class and register tokens included);
    the merged state dict loads into ``deploy=True``, a merged LoRA is a plain qkv Linear."""
    from mona_mm.layers import merge_adapters
    torch.manual_seed(0)
    cfg = dict(TINY, num_register_tokens=2)
    model = ViTMona(tuning=tuning, **cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        x = torch.randn(1, 3, 40, 32)
        before = model(x)
        assert merge_adapters(model)
        after = model(x)
    for a, b in zip(before, after):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-5)
    deploy = ViTMona(tuning=tuning, deploy=True, **cfg).eval()
    deploy.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        for a, b in zip(deploy(x), after):
            assert torch.equal(a, b)
    if tuning == 'LoRA':
        assert type(deploy.blocks[0].attn.qkv) is torch.nn.Linear


@pytest.mark.parametrize('shared', [dict(output_cls_token=True), dict(out_origin=True),
                                    dict(out_origin=True, output_cls_token=True),
                                    dict(interpolate_mode='bilinear')])
def test_mmseg_output_arguments_give_mmseg_outputs(shared):
    """``output_cls_token`` (mmseg's DPT head), ``out_origin`` and ``interpolate_mode`` mean
    what they mean in mmseg: the same outputs, structure and values, at a size whose position
    grid is interpolated."""
    stock, ours = mmseg_and_ours(**shared)
    x = torch.randn(2, 3, 48, 40)
    with torch.no_grad():
        expected, got = stock(x), ours(x)
    assert len(got) == len(expected) == 2 + shared.get('out_origin', False)
    for a, b in zip(expected, got):
        if shared.get('output_cls_token'):
            assert isinstance(b, list) and len(b) == len(a) == 2
            torch.testing.assert_close(b[1], a[1], rtol=1e-5, atol=1e-6)
            a, b = a[0], b[0]
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


def test_static_resize_pos_embed_is_mmsegs():
    pos = torch.randn(1, 1 + 4 * 5, 8)
    for mode in ('bicubic', 'bilinear'):
        torch.testing.assert_close(ViTMona.resize_pos_embed(pos, (6, 3), (4, 5), mode),
                                   VisionTransformer.resize_pos_embed(pos, (6, 3), (4, 5), mode))


def test_mmseg_pretrained_argument_and_norm_eval(tmp_path):
    stock, _ = mmseg_and_ours()
    path = tmp_path / 'vit_mmseg.pth'
    torch.save({'state_dict': stock.state_dict()}, path)
    with pytest.warns(UserWarning, match='pretrained is deprecated'):
        model = ViTMona(tuning='Mona', pretrained=str(path), out_norms=False, norm_eval=True,
                        **TINY)
    assert model.init_cfg == dict(type='Pretrained', checkpoint=str(path))
    model.init_weights()
    torch.testing.assert_close(model.pos_embed, stock.pos_embed)
    model.train()
    assert all(not m.training for m in model.modules() if isinstance(m, torch.nn.LayerNorm))
    assert model.blocks[0].training


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(img_size=(32, 32, 3)), ValueError, 'img_size must be a positive int or a pair'),
    (dict(img_size=32.0), TypeError, 'img_size must be an int or a tuple'),
    (dict(init_cfg=123), TypeError, 'init_cfg must be a dict'),
    (dict(pretrained=1), TypeError, 'pretrained must be a checkpoint path'),
    (dict(output_cls_token=True, with_cls_token=False), ValueError,
     'output_cls_token=True needs with_cls_token=True'),
    (dict(interpolate_mode='cubic'), ValueError, 'interpolate_mode must be one of'),
    (dict(patch_pad='same'), ValueError, "patch_pad='same' is not supported"),
    (dict(num_fcs=3), ValueError, 'num_fcs=3 is not supported'),
])
def test_invalid_mmseg_arguments_are_refused_naming_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        ViTMona(tuning='Mona', **dict(TINY, **kwargs))


def test_img_size_as_mmseg_takes_it():
    for size in (32, (32, ), (32, 32), [32, 32]):
        assert ViTMona(tuning='Fixed', **dict(TINY, img_size=size)).pos_grid == (4, 4)


@pytest.mark.parametrize('config', ['upernet_vit-b16_ln_mln.py', 'dpt_vit-b16.py'])
def test_stock_mmseg_backbone_with_type_swapped(config):
    """The backbone dict of a stock mmseg config (UperNet ViT-B, DPT ViT-B) with only ``type``
    swapped builds, loads mmseg's state dict strictly and gives mmseg's outputs, with the two
    defaults that differ set to mmseg's (``out_norms`` off; LayerNorm eps 1e-5 where the config
    leaves mmseg's default: ours is timm's 1e-6; the table in docs/design.md)."""
    import os.path as osp

    import mmseg
    from mmengine.config import Config
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_', 'models', config)
    backbone = {k: v for k, v in Config.fromfile(path).model.backbone.items() if k != 'type'}
    torch.manual_seed(0)
    stock = VisionTransformer(**backbone, patch_bias=True)
    stock.eval()  # mmseg's train() returns None
    with torch.no_grad():
        for p in stock.parameters():
            p.normal_(0, 0.02)
    ours = ViTMona(tuning='Full', out_norms=False,
                   **dict(dict(norm_cfg=dict(type='LN')), **backbone)).eval()
    ours.load_pretrained(stock.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        expected, got = stock(x), ours(x)
    assert len(got) == len(expected) == 4
    for a, b in zip(expected, got):
        if backbone.get('output_cls_token'):
            torch.testing.assert_close(b[1], a[1], rtol=1e-4, atol=1e-5)
            a, b = a[0], b[0]
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


def test_state_dict_of_mmsegs_default_vit_loads_strictly():
    """mmseg builds its ViT without a patch bias by default (``patch_bias=False``); its state
    dict loads strictly (a zero bias, which computes the same) and the outputs are mmseg's."""
    torch.manual_seed(0)
    stock = VisionTransformer(img_size=TINY['img_size'], patch_size=TINY['patch_size'],
                              embed_dims=TINY['embed_dims'], num_layers=TINY['num_layers'],
                              num_heads=TINY['num_heads'], out_indices=TINY['out_indices'])
    stock.eval()  # mmseg's train() returns None
    with torch.no_grad():
        for p in stock.parameters():
            p.normal_(0, 0.2)
    assert 'patch_embed.projection.bias' not in stock.state_dict()
    ours = ViTMona(tuning='Full', out_norms=False, norm_cfg=dict(type='LN'), **TINY).eval()
    report = ours.load_pretrained(stock.state_dict(), strict=True)
    assert not report.missing and 'no patch bias' in report.source_format
    assert torch.equal(ours.patch_embed.proj.bias, torch.zeros(TINY['embed_dims']))
    x = torch.randn(1, 3, 40, 32)
    with torch.no_grad():
        for a, b in zip(stock(x), ours(x)):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('registers', [0, 4])
def test_dinov2_at_a_non_square_size_equals_the_reference_with_its_resize_rule(registers):
    """At a size that is not the table's, with ``pos_embed_resize`` set as the load report says
    for the file (DINOv2: 'dinov2'; DINOv2 with registers: 'timm'), the features are DINOv2's
    hub model's: one resize, from the file's grid (``img_size`` the file's)."""
    grid, patch, heads = 4, 14, 2
    sd = vit_state_dict('dinov2', embed_dims=32, depth=2, patch_size=patch, grid=grid,
                        num_register_tokens=registers)
    rule = 'timm' if registers else 'dinov2'
    model = ViTMona(embed_dims=32, num_layers=2, num_heads=heads, patch_size=patch,
                    img_size=grid * patch, layer_scale_init_value=1.0,
                    num_register_tokens=registers, final_norm=True, out_norms=False,
                    out_indices=(1, ), tuning='Fixed').eval()
    report = model.load_pretrained(dict(sd))
    assert f"set pos_embed_resize='{rule}'" in report.summary()
    model.pos_embed_resize = rule
    assert f"pos_embed_resize='{rule}'" not in model.convert_pretrained(dict(sd))[1].summary()
    x = torch.randn(1, 3, 3 * patch, 6 * patch)
    with torch.no_grad():
        expected = dinov2_reference(sd, x, patch, heads)
        (got, ) = model(x)
        torch.testing.assert_close(got.flatten(2).transpose(1, 2), expected, rtol=1e-5,
                                   atol=1e-5)
        model.pos_embed_resize = 'mmseg'  # the rule matters at this size
        assert not torch.allclose(model(x)[0], got, atol=1e-4)


@pytest.mark.parametrize('registers', [0, 4])
def test_a_dinov2_file_is_resized_on_load_by_dinov2s_rule(registers):
    """By default the load resizes a file's table by its family's rule (DINOv2's offset, or
    its register models' antialiasing), named in the report: at ``img_size`` the features are
    the hub model's at that size."""
    grid, patch, heads = 5, 14, 2
    sd = vit_state_dict('dinov2', embed_dims=32, depth=2, patch_size=patch, grid=grid,
                        num_register_tokens=registers)
    model = ViTMona(embed_dims=32, num_layers=2, num_heads=heads, patch_size=patch,
                    img_size=3 * patch, layer_scale_init_value=1.0,
                    num_register_tokens=registers, final_norm=True, out_norms=False,
                    out_indices=(1, ), tuning='Fixed').eval()
    report = model.load_pretrained(dict(sd))
    rule = 'timm' if registers else 'dinov2'
    assert report.resized == ['pos_embed']
    assert f"resized to this model ('{rule}' rule, the file's family's)" in report.summary()
    assert 'img_size=70 keeps the file' in report.summary()
    x = torch.randn(1, 3, 3 * patch, 3 * patch)
    with torch.no_grad():
        expected = dinov2_reference(sd, x, patch, heads)
        (got, ) = model(x)
    torch.testing.assert_close(got.flatten(2).transpose(1, 2), expected, rtol=1e-5, atol=1e-5)


def timm_resample_abs_pos_embed(posemb, new_size, old_size, num_prefix_tokens=1):
    """timm's ``resample_abs_pos_embed`` (timm/layers/pos_embed.py), its defaults: bicubic,
    antialias, prefix tokens kept."""
    prefix, posemb = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    dim = posemb.shape[-1]
    posemb = posemb.float().reshape(1, old_size[0], old_size[1], -1).permute(0, 3, 1, 2)
    posemb = F.interpolate(posemb, size=new_size, mode='bicubic', antialias=True)
    return torch.cat([prefix, posemb.permute(0, 2, 3, 1).reshape(1, -1, dim)], dim=1)


def test_timm_rule_equals_timms_resample_on_load_and_at_forward():
    sd = vit_state_dict('timm', embed_dims=32, depth=1, patch_size=8, grid=6, num_classes=4)
    model = ViTMona(embed_dims=32, num_layers=1, num_heads=2, patch_size=8, img_size=32,
                    out_indices=(0, ), tuning='Fixed', pos_embed_resize='timm')
    report = model.load_pretrained(dict(sd))
    assert report.resized == ['pos_embed'] and "('timm' rule)" in report.summary()
    assert 'resize it again at forward' in report.summary() and 'img_size=48' in report.summary()
    torch.testing.assert_close(model.pos_embed.detach(),
                               timm_resample_abs_pos_embed(sd['pos_embed'], (4, 4), (6, 6)))
    torch.testing.assert_close(model.pos_embed_for((3, 7)).detach(),
                               timm_resample_abs_pos_embed(model.pos_embed.detach(), (3, 7),
                                                           (4, 4)))


def test_mmseg_and_mae_files_are_resized_as_mmseg_without_a_note():
    stock, ours = mmseg_and_ours()
    assert not ours.convert_pretrained(stock.state_dict())[1].notes
    sd = vit_state_dict('mae', embed_dims=32, depth=1, patch_size=8, grid=4)
    model = ViTMona(embed_dims=32, num_layers=1, num_heads=2, patch_size=8, img_size=32,
                    out_indices=(0, ), tuning='Fixed')
    report = model.convert_pretrained(dict(sd))[1]
    assert report.source_format == 'MAE' and not report.notes


SAN_LIKE = dict(patch_bias=False, pre_norm=True, frozen_exclude=['pos_embed'])


@pytest.mark.parametrize('shared', [dict(patch_norm=True), dict(pre_norm=True),
                                    dict(patch_bias=False), dict(frozen_exclude=[]),
                                    dict(frozen_exclude=['ln1', 'patch_embed.projection']),
                                    SAN_LIKE])
def test_mmseg_structure_and_freezing_arguments_mean_mmsegs(shared):
    """``patch_norm``, ``patch_bias``, ``pre_norm`` and ``frozen_exclude`` (mmseg's SAN sets the
    last three) build mmseg's structure: its state dict loads strictly, the same parameters
    are trainable (by mmseg's names) and the outputs are mmseg's."""
    from mona_mm.models.backbones.vit_checkpoint import mmseg_param_name
    torch.manual_seed(0)
    stock = VisionTransformer(
        img_size=TINY['img_size'], patch_size=TINY['patch_size'], embed_dims=TINY['embed_dims'],
        num_layers=TINY['num_layers'], num_heads=TINY['num_heads'],
        out_indices=TINY['out_indices'], norm_cfg=dict(type='LN', eps=1e-6),
        **dict(dict(patch_bias=True), **shared))
    stock.eval()
    with torch.no_grad():
        for p in stock.parameters():
            p.normal_(0, 0.2)
    ours = ViTMona(tuning='Full', out_norms=False, **TINY, **shared).eval()
    report = ours.load_pretrained(stock.state_dict(), strict=True)
    assert not report.missing and not report.unexpected
    assert {mmseg_param_name(n) for n, p in ours.named_parameters() if p.requires_grad} == \
        {n for n, p in stock.named_parameters() if p.requires_grad}
    x = torch.randn(2, 3, 48, 40)
    with torch.no_grad():
        for a, b in zip(stock(x), ours(x)):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


def test_frozen_exclude_with_a_tuning_method():
    """``frozen_exclude`` freezes pretrained parameters on top of the method; adapters keep
    the method's choice, and an excluded name the method freezes stays frozen."""
    mona = ViTMona(tuning=dict(type='Mona', bottleneck=8), frozen_exclude=['pos_embed'], **TINY)
    trainable = {n for n, p in mona.named_parameters() if p.requires_grad}
    assert trainable == mona.adapter_param_names and not mona.pos_embed.requires_grad
    bitfit = ViTMona(tuning='BitFit', frozen_exclude=['ln'], out_norms=False, **TINY)
    trainable = {n for n, p in bitfit.named_parameters() if p.requires_grad}
    assert trainable == {f'blocks.{i}.norm{j}.bias' for i in range(4) for j in (1, 2)}


@pytest.mark.parametrize('kwargs,message', [
    (dict(frozen_exclude=['pos_emb3d']), r"frozen_exclude \['pos_emb3d'\] match no parameter"),
    (dict(frozen_exclude='pos_embed'), 'frozen_exclude must be a list'),
    (dict(pos_embed_resize='antialias'), 'pos_embed_resize must be None or one of'),
    (dict(pos_embed_resize='timm', interpolate_mode='nearest'), "antialiases"),
])
def test_invalid_freezing_and_resize_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ViTMona(tuning='Mona', **dict(TINY, **kwargs))


def test_a_missing_pretrained_file_is_an_oserror_as_the_hosts():
    """mmseg's ViT (and mmengine) raise an OSError for a checkpoint path that does not exist;
    ours does too, with the file named."""
    model = ViTMona(tuning='Mona', init_cfg=dict(type='Pretrained', checkpoint='nowhere.pth'),
                    **TINY)
    with pytest.raises(OSError, match='The pretrained weights nowhere.pth does not exist'):
        model.init_weights()
