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


def test_frozen_stages_follow_original_swin(tiny_swin_cfg):
    full = SwinMona(tuning='Full', frozen_stages=1, **tiny_swin_cfg)
    frozen = {n for n, p in full.named_parameters() if not p.requires_grad}
    assert frozen and all(n.startswith('patch_embed.') for n in frozen)
    full3 = SwinMona(tuning='Full', frozen_stages=3, **tiny_swin_cfg).train()
    frozen3 = {n.split('.')[0] + '.' + n.split('.')[1] for n, p in full3.named_parameters()
               if not p.requires_grad}
    assert frozen3 == {'patch_embed.projection', 'patch_embed.norm', 'stages.0', 'stages.1'}
    assert not full3.stages[1].training and full3.stages[2].training


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
