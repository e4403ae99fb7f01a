"""Loading the published plain-ViT checkpoints into ViTMona: every layout at its real key names and
shapes (timm/DeiT ViT-B/16, MAE ViT-B/16, DINOv2 ViT-S/14 and ViT-B/14 with and without
registers), mmseg-converted and whole-model files, the report, and clear refusals."""
import pytest
import torch
import torch.nn.functional as F
from mmseg.models.backbones import VisionTransformer

from mona_mm.models import ViTMona
from tests.helpers import vit_state_dict

TINY = dict(embed_dims=32, num_layers=2, num_heads=2)


def own_pretrained_keys(model):
    """The backbone's keys a checkpoint provides: all but the adapters' and the output norms."""
    return {k for k in model.state_dict()
            if k not in model.adapter_param_names and k not in model.out_norm_names()}


def assert_loaded_as_in_file(model, sd, skip=()):
    mine = model.state_dict()
    for key, value in sd.items():
        if key in mine and key not in skip:
            assert torch.equal(mine[key], value), key


@pytest.mark.parametrize('wrapped', [True, False])
def test_timm_deit_vit_b16(tmp_path, wrapped):
    """deit_base_patch16_224 ({'model': ...}, in memory) and timm's vit_base_patch16_224 (a
    plain state dict, from a file)."""
    sd = vit_state_dict('timm')  # ViT-B/16 at 224: 768 channels, 12 blocks, 1 + 14 * 14 positions
    if wrapped:
        checkpoint = {'model': sd}
    else:
        checkpoint = str(tmp_path / 'vit_base_patch16_224.pth')
        torch.save(sd, checkpoint)
    model = ViTMona(arch='base', tuning='Mona')
    report = model.load_pretrained(checkpoint)
    assert report.source_format == 'timm/DeiT (timm layout)'
    assert set(report.loaded) == own_pretrained_keys(model) and not report.missing
    assert sorted(report.ignored) == ['head.bias', 'head.weight', 'norm.bias', 'norm.weight']
    assert not report.resized and not report.unexpected
    assert_loaded_as_in_file(model, sd)
    assert {n for n, p in model.named_parameters() if p.requires_grad} == \
        model.adapter_param_names


def test_init_cfg_loads_the_checkpoint(tmp_path):
    """A config's way: init_cfg, then the runner's init_weights (the freezing holds)."""
    sd = vit_state_dict('timm', embed_dims=32, depth=2, grid=2)
    path = tmp_path / 'vit.pth'
    torch.save({'model': sd}, path)
    model = ViTMona(tuning='Mona', img_size=32, init_cfg=dict(type='Pretrained',
                                                              checkpoint=str(path)), **TINY)
    model.init_weights()
    assert_loaded_as_in_file(model, sd)
    assert {n for n, p in model.named_parameters() if p.requires_grad} == \
        model.adapter_param_names


def test_mae_vit_b16_pretrained_encoder():
    """mae_pretrain_vit_base.pth: {'model': ...}, the encoder with its final norm, no head; its
    norm loads when the backbone uses a final norm (final_norm=True)."""
    sd = vit_state_dict('mae')
    plain = ViTMona(arch='base', tuning='Fixed')
    report = plain.load_pretrained({'model': sd})
    # told from a timm file without a classifier by its fixed sine-cosine position table
    assert report.source_format == 'MAE'
    assert sorted(report.ignored) == ['norm.bias', 'norm.weight'] and not report.missing
    with_norm = ViTMona(arch='base', tuning='Fixed', final_norm=True)
    report = with_norm.load_pretrained({'model': sd})
    assert not report.ignored and 'norm.weight' in report.loaded
    assert_loaded_as_in_file(with_norm, sd)


@pytest.mark.parametrize('layout', ['mae_finetuned', 'mae_visualize'])
def test_mae_finetuned_and_visualisation_files(layout):
    sd = vit_state_dict(layout, **dict(embed_dims=32, depth=2))
    model = ViTMona(tuning='Fixed', **TINY)
    report = model.load_pretrained({'model': sd})
    assert report.source_format == 'MAE' and not report.missing and not report.unexpected
    ignored = {k.split('.')[0] for k in report.ignored}
    if layout == 'mae_finetuned':
        assert ignored == {'fc_norm', 'head'}
        with pytest.raises(ValueError, match='norm.weight'):  # no final norm in the file
            ViTMona(tuning='Fixed', final_norm=True, **TINY).load_pretrained({'model': sd})
    else:
        assert ignored == {'norm', 'mask_token', 'decoder_embed', 'decoder_pos_embed',
                           'decoder_blocks', 'decoder_norm', 'decoder_pred'}
    assert_loaded_as_in_file(model, sd)


@pytest.mark.parametrize('arch,channels', [('small', 384), ('base', 768)])
def test_dinov2_14_position_embeddings_for_518_px_are_resized(arch, channels):
    """dinov2_vit{s,b}14_pretrain.pth: layer scale, mask_token, 1 + 37 * 37 positions (518 px),
    resized once on load to the grid of the training size (448 px: 32 x 32) by DINOv2's own
    rule (its hub models' ``interpolate_offset`` 0.1: the scale factor (32 + 0.1) / 37)."""
    sd = vit_state_dict('dinov2', embed_dims=channels, patch_size=14, grid=37)
    model = ViTMona(arch=arch, patch_size=14, img_size=448, layer_scale_init_value=1.0,
                    tuning='Mona')
    report = model.load_pretrained(sd)
    assert report.source_format == 'DINOv2'
    assert report.resized == ['pos_embed']
    assert sorted(report.ignored) == ['mask_token', 'norm.bias', 'norm.weight']
    assert set(report.loaded) == own_pretrained_keys(model) and not report.missing
    assert_loaded_as_in_file(model, sd, skip={'pos_embed'})
    assert torch.equal(model.blocks[11].ls2.gamma, sd['blocks.11.ls2.gamma'])
    pos = model.pos_embed.detach()
    assert pos.shape == (1, 1 + 32 * 32, channels)
    assert torch.equal(pos[:, 0], sd['pos_embed'][:, 0])  # the class token's position
    grid = sd['pos_embed'][0, 1:].reshape(1, 37, 37, channels).permute(0, 3, 1, 2)
    expected = F.interpolate(grid, scale_factor=(32.1 / 37, 32.1 / 37), mode='bicubic',
                             align_corners=False)
    assert expected.shape[-2:] == (32, 32)
    torch.testing.assert_close(pos[0, 1:], expected.flatten(2).transpose(1, 2)[0])
    # at 512 px the corner-padded grid is 37 x 37 (518 px): no resize at all
    native = ViTMona(arch=arch, patch_size=14, img_size=512, layer_scale_init_value=1.0,
                     tuning='Fixed')
    assert native.load_pretrained(sd).resized == []


def test_dinov2_with_registers():
    """dinov2_vits14_reg4_pretrain.pth: register_tokens (1, 4, 384)."""
    sd = vit_state_dict('dinov2', embed_dims=384, patch_size=14, grid=37, num_register_tokens=4)
    model = ViTMona(arch='small', patch_size=14, img_size=518, layer_scale_init_value=1.0,
                    num_register_tokens=4, tuning='Fixed')
    report = model.load_pretrained(sd)
    assert report.source_format == 'DINOv2 with 4 register tokens'
    assert set(report.loaded) == own_pretrained_keys(model) and not report.missing
    assert torch.equal(model.reg_token, sd['register_tokens'])
    assert_loaded_as_in_file(model, sd)


def test_dinov2_needs_its_layer_scale_and_registers_named():
    sd = vit_state_dict('dinov2', embed_dims=32, depth=2, patch_size=14, grid=4,
                        num_register_tokens=4)
    cfg = dict(TINY, patch_size=14, img_size=56)
    with pytest.raises(ValueError, match='layer_scale_init_value=1.0'):
        ViTMona(tuning='Fixed', num_register_tokens=4, **cfg).load_pretrained(dict(sd))
    with pytest.raises(ValueError, match='num_register_tokens=4'):
        ViTMona(tuning='Fixed', layer_scale_init_value=1.0, **cfg).load_pretrained(dict(sd))


def test_timm_registers_layout_and_chunked_blocks_load_the_same_model():
    """timm's vit_*_reg4_dinov2 files fold the class token's position into cls_token and keep
    no position row for it; DINOv2's training files chunk the blocks (blocks.<chunk>.<index>).
    Both load into the model that the hub layout gives."""
    sd = vit_state_dict('dinov2', embed_dims=32, depth=4, patch_size=14, grid=4,
                        num_register_tokens=4)
    timm = {k: v for k, v in sd.items() if k not in ('register_tokens', 'mask_token')}
    timm['reg_token'] = sd['register_tokens']
    timm['cls_token'] = sd['cls_token'] + sd['pos_embed'][:, :1]
    timm['pos_embed'] = sd['pos_embed'][:, 1:]
    chunked = {(f'blocks.{int(k.split(".")[1]) // 2}.{k[len("blocks."):]}'
                if k.startswith('blocks.') else k): v for k, v in sd.items()}
    assert 'blocks.1.3.ls1.gamma' in chunked
    x = torch.randn(1, 3, 56, 56)
    outs, formats = [], []
    for layout in (sd, timm, chunked):
        model = ViTMona(tuning='Fixed', layer_scale_init_value=1.0, num_register_tokens=4,
                        patch_size=14, img_size=56, **dict(TINY, num_layers=4)).eval()
        report = model.load_pretrained(dict(layout))
        assert not report.missing and not report.unexpected, report.summary()
        formats.append(report.source_format)
        with torch.no_grad():
            outs.append(model(x))
    assert formats[1] == 'DINOv2, position embeddings without a class row'
    assert formats[0] == formats[2] == 'DINOv2 with 4 register tokens'
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_mmseg_segmentor_checkpoint(tmp_path):
    """A whole mmseg segmentor checkpoint of its VisionTransformer (keys as vit2mmseg writes
    them, under backbone.): the backbone loads, the neck and heads are ignored."""
    stock = VisionTransformer(img_size=32, patch_size=8, embed_dims=32, num_layers=2,
                              num_heads=2, final_norm=True, patch_bias=True)
    state = {f'backbone.{k}': v for k, v in stock.state_dict().items()}
    state['decode_head.conv_seg.weight'] = torch.zeros(3, 8, 1, 1)
    path = tmp_path / 'upernet_vit.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    model = ViTMona(tuning='Mona', final_norm=True, patch_size=8, img_size=32, **TINY)
    report = model.load_pretrained(str(path))
    assert report.source_format == 'detector/segmentor (backbone.), mmseg-converted'
    assert report.ignored == ['decode_head.conv_seg.weight'] and not report.missing
    mine = model.state_dict()
    assert torch.equal(mine['blocks.1.attn.qkv.weight'],
                       stock.state_dict()['layers.1.attn.attn.in_proj_weight'])
    assert torch.equal(mine['norm.bias'], stock.state_dict()['ln1.bias'])


def test_own_detector_checkpoint_round_trip(tmp_path):
    source = ViTMona(tuning='Full', num_register_tokens=2, **TINY)
    with torch.no_grad():
        for p in source.parameters():
            p.normal_()
    path = tmp_path / 'det.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}},
               path)
    model = ViTMona(tuning='Mona', num_register_tokens=2, **TINY)
    report = model.load_pretrained(str(path))
    assert report.missing_allowed == sorted(model.adapter_param_names)
    assert_loaded_as_in_file(model, source.state_dict())


def test_wrong_architecture_is_refused_with_shapes():
    sd = vit_state_dict('timm', embed_dims=32, depth=2, patch_size=16, grid=4)
    with pytest.raises(ValueError, match=r'(?s)shape mismatches.*patch_embed\.proj\.weight: '
                       r'checkpoint \(32, 3, 16, 16\) vs model \(32, 3, 14, 14\)'):
        ViTMona(tuning='Fixed', patch_size=14, **TINY).load_pretrained(sd)
    with pytest.raises(ValueError, match=r'blocks\.0\.attn\.qkv\.weight: checkpoint \(96, 32\)'):
        ViTMona(tuning='Fixed', **dict(TINY, embed_dims=48)).load_pretrained(sd)


def test_missing_backbone_keys_are_an_error_by_default():
    sd = vit_state_dict('timm', embed_dims=32, depth=2, grid=14)
    del sd['blocks.1.norm1.weight']
    with pytest.raises(ValueError, match='blocks.1.norm1.weight'):
        ViTMona(tuning='Mona', **TINY).load_pretrained(dict(sd))
    report = ViTMona(tuning='Mona', **TINY).load_pretrained(dict(sd), strict=False)
    assert report.missing == ['blocks.1.norm1.weight']


def test_mae_told_by_its_position_table_not_by_a_missing_head():
    """A timm file without a classifier is still timm's; MAE's pre-trained release is told by
    its fixed sine-cosine position table (tests.helpers.mae_2d_sincos, MAE's own formula)."""
    from mona_mm.models.backbones.vit_checkpoint import is_mae_pos_embed
    sd = vit_state_dict('timm', **dict(embed_dims=32, depth=2))
    headless = {k: v for k, v in sd.items() if not k.startswith('head.')}
    report = ViTMona(tuning='Fixed', **TINY).load_pretrained({'model': headless})
    assert report.source_format == 'timm/DeiT (timm layout)'
    mae = vit_state_dict('mae', **dict(embed_dims=32, depth=2))
    assert is_mae_pos_embed(mae['pos_embed']) and not is_mae_pos_embed(sd['pos_embed'])
    assert not is_mae_pos_embed(mae['pos_embed'] + 1e-3)


class NotAllowed:
    """An object a weights-only load must refuse (the file's own class)."""

    def __init__(self) -> None:
        self.value = 1


def test_training_checkpoints_of_deit_and_mae_load(tmp_path):
    """DeiT's and MAE's training scripts save their arguments as an ``argparse.Namespace``
    under ``args`` beside ``model``: allowed (an attribute bag), the weights load; any other
    object is refused with torch's whole reason, the file named, no colour codes."""
    import argparse

    from mona_mm.models.backbones.pretrained import CheckpointFileError
    sd = vit_state_dict('mae', **dict(embed_dims=32, depth=2))
    path = tmp_path / 'checkpoint-399.pth'
    torch.save({'model': sd, 'epoch': 399, 'args': argparse.Namespace(model='vit', lr=1e-3)},
               path)
    model = ViTMona(tuning='Fixed', init_cfg=dict(type='Pretrained', checkpoint=str(path)),
                    **TINY)
    model.init_weights()
    torch.testing.assert_close(model.cls_token, sd['cls_token'])
    bad = tmp_path / 'other.pth'
    torch.save({'model': sd, 'extra': NotAllowed()}, bad)
    with pytest.raises(CheckpointFileError) as error:
        ViTMona(tuning='Fixed', init_cfg=dict(type='Pretrained', checkpoint=str(bad)),
                **TINY).init_weights()
    message = str(error.value)
    assert str(bad) in message and 'Weights only load failed' in message
    assert 'NotAllowed' in message and '\x1b[' not in message
    assert len(message.splitlines()) > 1  # torch's whole reason, not its first line
