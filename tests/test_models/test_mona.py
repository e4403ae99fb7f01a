"""The Mona layer against docs/spec.md section 1, written out with functional ops."""
import pytest
import torch
import torch.nn.functional as F

from mona_mm.layers import MonaLayer, MonaOp


def spec_mona(m: MonaLayer, x: torch.Tensor, hw) -> torch.Tensor:
    """docs/spec.md section 1, step by step (eval mode: dropout is identity)."""
    h, w = hw
    b, n, c = x.shape
    x1 = F.layer_norm(x, (c, ), m.norm.weight, m.norm.bias, 1e-5) * m.gamma + x * m.gammax
    p = x1 @ m.project1.weight.T + m.project1.bias
    p = p.reshape(b, h, w, -1).permute(0, 3, 1, 2)
    op = m.adapter_conv
    k = p.shape[1]
    dw = [F.conv2d(p, conv.weight, conv.bias, padding=pad, groups=k)
          for conv, pad in ((op.conv1, 1), (op.conv2, 2), (op.conv3, 3))]
    y = (dw[0] + dw[1] + dw[2]) / 3 + p
    y = y + F.conv2d(y, op.projector.weight, op.projector.bias)
    y = y.permute(0, 2, 3, 1).reshape(b, n, k)
    return x + F.gelu(y) @ m.project2.weight.T + m.project2.bias


@pytest.mark.parametrize('channels,hw,bottleneck', [(32, (5, 7), 64), (48, (8, 8), 16)])
def test_mona_matches_spec_formula(channels, hw, bottleneck):
    torch.manual_seed(0)
    m = MonaLayer(channels, bottleneck=bottleneck).eval()
    with torch.no_grad():  # move gamma off its tiny init so the LayerNorm branch matters
        m.gamma.normal_()
        m.gammax.normal_()
    x = torch.randn(2, hw[0] * hw[1], channels)
    torch.testing.assert_close(m(x, hw), spec_mona(m, x, hw), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('fused', [True, False])
def test_mona_fast_forward_matches_spec_in_values_and_grads(fused):
    """The folded LayerNorm scaling and the copy-free channels-last layout are speed changes
    only: same outputs and the same gradients for the input and every parameter."""
    torch.manual_seed(0)
    m = MonaLayer(24, bottleneck=16, drop=0.)
    m.adapter_conv.fused = fused
    with torch.no_grad():
        m.gamma.normal_()
        m.gammax.normal_()
        m.norm.weight.normal_()
        m.norm.bias.normal_()
    hw = (6, 9)
    x = torch.randn(2, hw[0] * hw[1], 24, requires_grad=True)
    got, want = m(x, hw), spec_mona(m, x, hw)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    inputs = [x] + list(m.parameters())
    g_got = torch.autograd.grad(got.square().mean(), inputs)
    g_want = torch.autograd.grad(want.square().mean(), inputs)
    for name, a, b in zip(['x'] + [n for n, _ in m.named_parameters()], g_got, g_want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, msg=f'gradient of {name}')


def test_mona_initialisation_and_parameter_count():
    m = MonaLayer(128)
    assert sum(p.numel() for p in m.parameters()) == 133 * 128 + 9728
    assert torch.all(m.gamma == 1e-6) and torch.all(m.gammax == 1.0)
    assert torch.all(m.project1.bias == 0) and torch.all(m.project2.bias == 0)
    assert 0.01 < m.project1.weight.std() < 0.03  # trunc_normal std 0.02
    # official Mona is not an identity at step 0
    x = torch.randn(1, 16, 128)
    assert not torch.allclose(m.eval()(x, (4, 4)), x)


def test_mona_dropout_active_in_train_mode_only():
    torch.manual_seed(0)
    m = MonaLayer(16, bottleneck=8, drop=0.5)
    x = torch.randn(1, 16, 16)
    assert not torch.equal(m.train()(x, (4, 4)), m.train()(x, (4, 4)))
    assert torch.equal(m.eval()(x, (4, 4)), m.eval()(x, (4, 4)))


def test_monaop_shape_and_skips():
    op = MonaOp(8)
    x = torch.randn(2, 8, 6, 5)
    assert op(x).shape == x.shape
    with torch.no_grad():
        for p in op.parameters():
            p.zero_()
    # zero convs: y = x (averaged-conv skip), out = y + 0 (projector skip)
    torch.testing.assert_close(op(x), x)
    with torch.no_grad():
        op.projector.weight.copy_(torch.eye(8).view(8, 8, 1, 1))
    torch.testing.assert_close(op(x), 2 * x)  # projector skip: y + I y


def test_monaop_merged_kernels_are_exact():
    torch.manual_seed(0)
    op = MonaOp(8)
    x = torch.randn(2, 8, 9, 7)
    dw, dw_b, pw, pw_b = op.merged_kernels()
    merged = F.conv2d(F.conv2d(x, dw, dw_b, padding=3, groups=8), pw, pw_b)
    torch.testing.assert_close(merged, op(x), rtol=1e-5, atol=1e-5)


def test_fused_monaop_matches_the_official_formula_in_values_and_grads():
    torch.manual_seed(0)
    fused = MonaOp(8)
    plain = MonaOp(8, fused=False)
    plain.load_state_dict(fused.state_dict())
    x = torch.randn(2, 8, 9, 11, requires_grad=True)
    outs = [m(x) for m in (fused, plain)]
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-5)
    grads = [torch.autograd.grad(o.square().mean(), [x] + list(m.parameters()))
             for o, m in zip(outs, (fused, plain))]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_tokens_off_the_map_bypass_only_the_convolution():
    """A ViT's class/register tokens lead the sequence: the map tokens are computed exactly as
    without them, and each extra token takes every step but MonaOp."""
    torch.manual_seed(0)
    m = MonaLayer(24, bottleneck=16).eval()
    with torch.no_grad():
        m.gamma.normal_()
    hw = (3, 5)
    x = torch.randn(2, 2 + hw[0] * hw[1], 24)
    out = m(x, hw)
    torch.testing.assert_close(out[:, 2:], m(x[:, 2:], hw))
    extra = x[:, :2]
    x1 = F.layer_norm(extra, (24, ), m.norm.weight, m.norm.bias, 1e-5) * m.gamma + extra * m.gammax
    want = extra + F.gelu(x1 @ m.project1.weight.T + m.project1.bias) @ m.project2.weight.T + \
        m.project2.bias
    torch.testing.assert_close(out[:, :2], want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='15 tokens for a 4x4 map'):
        m(x[:, 2:], (4, 4))
