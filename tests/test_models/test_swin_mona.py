"""SwinMona: stock-Swin equivalence, freezing, parameter counts, errors."""
import pytest
import torch
from mmdet.models.backbones import SwinTransformer

from mona_mm.models import SwinMona
from mona_mm.tuning import available_methods
from tests.helpers import assert_same_training_step


def stock_and_ours(cfg, tuning):
    torch.manual_seed(0)
    stock = SwinTransformer(**cfg)
    stock.eval()  # mmdet's train() returns None
    stock.init_weights()
    with torch.no_grad():  # random, non-trivial output norms and bias tables
        for name, p in stock.named_parameters():
            if 'norm' in name or 'relative_position_bias_table' in name:
                p.normal_()
    ours = SwinMona(tuning=tuning, **cfg).eval()
    return stock, ours


@pytest.mark.parametrize('hw', [(64, 64), (72, 100)])  # the second needs window padding
def test_no_adapter_reproduces_stock_mmdet_swin(tiny_swin_cfg, hw):
    stock, ours = stock_and_ours(tiny_swin_cfg, 'Fixed')
    assert set(ours.state_dict()) == set(stock.state_dict())  # same keys, same checkpoints
    ours.load_state_dict(stock.state_dict(), strict=True)
    x = torch.randn(2, 3, *hw)
    with torch.no_grad():
        for a, b in zip(stock(x), ours(x)):
            assert torch.equal(a, b)


def test_zeroed_mona_reproduces_stock_mmdet_swin(tiny_swin_cfg):
    stock, ours = stock_and_ours(tiny_swin_cfg, dict(type='Mona', bottleneck=8))
    missing, unexpected = ours.load_state_dict(stock.state_dict(), strict=False)
    assert not unexpected and all('.mona' in k for k in missing)
    x = torch.randn(1, 3, 64, 80)
    with torch.no_grad():
        assert not torch.equal(stock(x)[-1], ours(x)[-1])  # Mona is active
        for name, p in ours.named_parameters():
            if 'project2' in name:
                p.zero_()
        for a, b in zip(stock(x), ours(x)):
            assert torch.equal(a, b)


@pytest.mark.parametrize('arch,expected', [('base', 3_667_456), ('large', 5_267_712)])
def test_mona_trainable_count_matches_paper(arch, expected):
    model = SwinMona(arch=arch, tuning=dict(type='Mona'))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == expected
    assert all('.mona' in n for n, p in model.named_parameters() if p.requires_grad)


def test_full_swin_b_size_matches_paper():
    model = SwinMona(arch='base', tuning='Full')
    assert sum(p.numel() for p in model.parameters()) == 86_745_016
    assert all(p.requires_grad for p in model.parameters())


def test_train_steps_touch_only_adapters(tiny_swin_cfg):
    torch.manual_seed(0)
    model = SwinMona(tuning=dict(type='Mona', bottleneck=8), **tiny_swin_cfg)
    model.init_weights()
    model.train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    # every parameter handed to the optimizer, with weight decay: the frozen ones must not move
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    for _ in range(3):
        loss = sum(o.square().mean() for o in model(torch.randn(2, 3, 64, 64)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for n, p in model.named_parameters():
        if n in model.adapter_param_names:
            assert not torch.equal(p, before[n]), f'adapter tensor {n} did not change'
        else:
            assert torch.equal(p, before[n]), f'frozen tensor {n} changed'
            assert p.grad is None


def test_freezing_is_reasserted(tiny_swin_cfg):
    model = SwinMona(tuning='Mona', **tiny_swin_cfg)
    intended = {n for n, p in model.named_parameters() if p.requires_grad}
    assert intended == model.adapter_param_names
    for p in model.parameters():
        p.requires_grad = True
    model.train()
    assert {n for n, p in model.named_parameters() if p.requires_grad} == intended
    for p in model.parameters():
        p.requires_grad = True
    model.init_weights()
    assert {n for n, p in model.named_parameters() if p.requires_grad} == intended


def test_init_weights_keeps_adapter_initialisation(tiny_swin_cfg):
    model = SwinMona(tuning=dict(type='Mona', bottleneck=8), **tiny_swin_cfg)
    gamma = model.stages[0].blocks[0].mona1.gamma.detach().clone()
    model.init_weights()
    assert torch.equal(model.stages[0].blocks[0].mona1.gamma, gamma)


def test_output_norms_frozen_by_default_and_configurable(tiny_swin_cfg):
    default = SwinMona(tuning='Mona', **tiny_swin_cfg)
    assert not any(p.requires_grad for n, p in default.named_parameters() if n.startswith('norm'))
    opt_in = SwinMona(tuning='Mona', train_out_norms=True, **tiny_swin_cfg)
    assert all(p.requires_grad for n, p in opt_in.named_parameters() if n.startswith('norm'))


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 2, 3, 4])
@pytest.mark.parametrize('out_indices,abs_pos', [((0, 1, 2, 3), False), ((1, 3), True)])
def test_frozen_stages_as_mmdet(tiny_swin_cfg, frozen_stages, out_indices, abs_pos):
    """Full with ``frozen_stages`` freezes what mmdet's SwinTransformer freezes (the same
    parameter names, output norms included) and keeps the same modules in eval mode."""
    cfg = dict(tiny_swin_cfg, frozen_stages=frozen_stages, out_indices=out_indices,
               use_abs_pos_embed=abs_pos, pretrain_img_size=32)
    ours = SwinMona(tuning='Full', **cfg).train()
    host = SwinTransformer(**cfg)
    host.train()  # mmdet's train() returns None
    frozen = {n for n, p in ours.named_parameters() if not p.requires_grad}
    assert frozen == {n for n, p in host.named_parameters() if not p.requires_grad}
    assert bool(frozen) == (frozen_stages >= 0)
    ours_eval = {n for n, m in ours.named_modules() if not m.training}
    host_eval = {n for n, m in host.named_modules() if not m.training}
    assert ours_eval == host_eval


def test_frozen_stages_freeze_adapters_inside_them(tiny_swin_cfg):
    model = SwinMona(tuning='Mona', frozen_stages=2, **tiny_swin_cfg).train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(('stages.2.', 'stages.3.')) for n in trainable)
    assert not model.stages[1].blocks[0].mona1.training


def test_drop_path_stays_active_in_frozen_blocks(tiny_swin_cfg):
    cfg = dict(tiny_swin_cfg, drop_path_rate=0.5)
    model = SwinMona(tuning='Mona', **cfg).train()
    x = torch.randn(1, 3, 32, 32)
    torch.manual_seed(1)
    a = model(x)[-1]
    torch.manual_seed(2)
    assert not torch.equal(a, model(x)[-1])


def test_with_cp_same_output_and_grads(tiny_swin_cfg):
    torch.manual_seed(0)
    plain = SwinMona(tuning=dict(type='Mona', bottleneck=8), **tiny_swin_cfg).train()
    ckpt = SwinMona(tuning=dict(type='Mona', bottleneck=8), with_cp=True, **tiny_swin_cfg).train()
    ckpt.load_state_dict(plain.state_dict())
    assert_same_training_step([plain, ckpt], torch.randn(1, 3, 32, 32), seed=1)


def test_with_cp_lowers_the_peak_memory_of_a_training_step(tiny_swin_cfg):
    """Measured from the allocator's records (bytes, not time): checkpointing frees each
    block's activations and keeps only its input, even with a frozen stem in front. The
    bottleneck is narrower than the blocks, as in real backbones (64 against Swin-T's 96-768):
    at the default 64 on this 16-wide Swin, the peak of one block's backward through its two
    adapters, which checkpointing does not remove, would be most of the step's."""
    from benchmarks.memory import cpu_step_peak
    x = torch.randn(2, 3, 128, 128)
    peaks = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        model = SwinMona(tuning=dict(type='Mona', bottleneck=8), with_cp=with_cp,
                         **tiny_swin_cfg).train()
        peaks.append(cpu_step_peak(lambda: sum(o.square().mean() for o in model(x)).backward()))
    assert peaks[1] < 0.7 * peaks[0], peaks


def test_unknown_method_lists_valid_ones():
    with pytest.raises(KeyError, match='Unknown tuning method .*Valid types.*Mona'):
        SwinMona(tuning=dict(type='Monaa'))
    assert {'Fixed', 'Full', 'Mona'} <= set(available_methods())


def test_unknown_hyper_parameter_lists_valid_ones():
    with pytest.raises(TypeError, match=r"Unknown hyper-parameter.*\['rank'\].*bottleneck"):
        SwinMona(tuning=dict(type='Mona', rank=4))


def test_selection_that_matches_nothing_is_an_error(tiny_swin_cfg):
    with pytest.raises(ValueError, match='stages \\[7\\] do not exist'):
        SwinMona(tuning=dict(type='Mona', stages=[7]), **tiny_swin_cfg)
    with pytest.raises(ValueError, match='inserted no parameters'):
        SwinMona(tuning=dict(type='Mona', stages=[]), **tiny_swin_cfg)


def test_meaningless_combinations_are_errors(tiny_swin_cfg):
    with pytest.raises(ValueError, match='Full cannot be combined'):
        SwinMona(tuning=['Full', 'Mona'], **tiny_swin_cfg)
    with pytest.raises(ValueError, match='more than once'):
        SwinMona(tuning=['Mona', dict(type='Mona', bottleneck=8)], **tiny_swin_cfg)


def test_mona_on_selected_stages_only(tiny_swin_cfg):
    model = SwinMona(tuning=dict(type='Mona', stages=[2, 3], bottleneck=8), **tiny_swin_cfg)
    assert {n.split('.')[1] for n in model.adapter_param_names} == {'2', '3'}


def test_unknown_arch_is_an_error():
    with pytest.raises(KeyError, match="valid: \\['base', 'large', 'small', 'tiny'\\]"):
        SwinMona(arch='huge')


def test_pretrained_argument_loads_as_mmseg_treats_it(tiny_swin_cfg, tmp_path):
    """The host's deprecated ``pretrained=PATH`` (still in many published configs) means
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` with a deprecation warning, as in
    mmseg (mmdet 3.3 accepts it and drops it: its ``init_cfg`` stays None)."""
    from tests.helpers import microsoft_swin_state_dict
    path = tmp_path / 'swin_ms.pth'
    torch.save({'model': microsoft_swin_state_dict(seed=5, **tiny_swin_cfg)}, path)
    with pytest.warns(UserWarning, match='pretrained is deprecated, please use "init_cfg"'):
        old = SwinMona(tuning='Fixed', pretrained=str(path), **tiny_swin_cfg)
    assert old.init_cfg == dict(type='Pretrained', checkpoint=str(path))
    new = SwinMona(tuning='Fixed', init_cfg=dict(type='Pretrained', checkpoint=str(path)),
                   **tiny_swin_cfg)
    old.init_weights()
    new.init_weights()
    for (name, a), b in zip(old.state_dict().items(), new.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(old.patch_embed.projection.weight,
                           SwinMona(tuning='Fixed', **tiny_swin_cfg).patch_embed.projection.weight)


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(pretrained=3), TypeError, 'pretrained must be a checkpoint path'),
    (dict(pretrained='a.pth', init_cfg=dict(type='Pretrained', checkpoint='b.pth')), ValueError,
     'cannot both be given'),
    (dict(frozen_stages=5), ValueError, r'frozen_stages must be an int from -1 \(none\) to 4'),
    (dict(frozen_stages=-2), ValueError, 'frozen_stages must be'),
    (dict(out_indices=(4, )), ValueError, r'out_indices must name stages 0..3, got \(4,\)'),
    (dict(out_indices=()), ValueError, 'out_indices must name stages'),
    (dict(num_heads=(1, 2)), ValueError, r'num_heads must have one entry per stage'),
    (dict(strides=(4, 2, 2)), ValueError, r'strides must have one entry per stage'),
    (dict(patch_size=8), ValueError, 'strides\\[0\\] must equal patch_size'),
    (dict(pretrain_img_size=(224, 224, 3)), ValueError, 'pretrain_img_size must be an int or a'),
])
def test_invalid_arguments_are_refused_naming_the_argument(tiny_swin_cfg, kwargs, error,
                                                           message):
    """Refused before anything is built, with the argument's name; mmdet's own class fails on
    most of these with a bare AssertionError or an IndexError later."""
    with pytest.raises(error, match=message):
        SwinMona(tuning='Mona', **dict(tiny_swin_cfg, **kwargs))


def test_host_arguments_are_all_accepted():
    """Every constructor argument of mmdet's and mmseg's SwinTransformer is one of ours."""
    import inspect

    from mmseg.models.backbones import SwinTransformer as SegSwin
    ours = set(inspect.signature(SwinMona.__init__).parameters)
    for host in (SwinTransformer, SegSwin):
        assert set(inspect.signature(host.__init__).parameters) <= ours, host


def test_drop_path_drops_whole_samples_and_scales_the_kept_ones():
    """``SlotBlock.add_branch`` is drop path as mmcv's ``DropPath`` defines it: per sample, the
    branch is dropped with probability ``rate`` or kept and scaled by ``1 / (1 - rate)``; in
    eval mode (or at rate 0) it is the plain sum."""
    from mona_mm.models.backbones.tunable import SlotBlock
    block = SlotBlock(embed_dims=4, drop_path_rate=0.25).train()
    x, branch = torch.randn(400, 3, 4), torch.randn(400, 3, 4)
    torch.manual_seed(0)
    out = block.add_branch(x, branch)
    dropped = torch.isclose(out, x, rtol=0, atol=1e-6).flatten(1).all(1)
    kept = torch.isclose(out, x + branch / 0.75, rtol=0, atol=1e-5).flatten(1).all(1)
    assert bool((dropped ^ kept).all())  # each sample wholly one or the other
    assert 0.15 < dropped.float().mean().item() < 0.35  # about a quarter dropped
    assert torch.equal(block.eval().add_branch(x, branch), x + branch)
    assert torch.equal(SlotBlock(embed_dims=4).train().add_branch(x, branch), x + branch)
