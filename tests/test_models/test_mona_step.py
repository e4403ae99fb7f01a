"""Mona's fused step (mona_mm/layers/mona_step.py) against the official formula module by
module: outputs and every gradient to 1e-5 in fp32, random non-default parameters, dropout on
with a shared seed; its kernels built for many layers at once; and what it dispatches."""
import copy

import pytest
import torch

from benchmarks.op_count import count_step
from mona_mm.layers import MonaLayer
from mona_mm.layers.mona_step import build_kernels, kernels, mona_step
from tests.helpers import assert_close_to_scale


def randomised(channels: int, bottleneck: int, drop: float, seed: int = 0) -> MonaLayer:
    torch.manual_seed(seed)
    m = MonaLayer(channels, bottleneck=bottleneck, drop=drop)
    with torch.no_grad():
        for p in m.parameters():  # every parameter off its initialisation
            p.add_(torch.randn_like(p) * 0.3)
    return m


def official(m: MonaLayer, x: torch.Tensor, hw) -> torch.Tensor:
    """docs/spec.md section 1 as the official code writes it, module by module."""
    ref = copy.deepcopy(m)
    ref.load_state_dict(m.state_dict())
    ref.adapter_conv.fused = False
    # share the parameters, so that gradients land on m's
    for (name, p) in m.named_parameters():
        parent, _, leaf = name.rpartition('.')
        setattr(ref.get_submodule(parent) if parent else ref, leaf, p)
    return ref(x, hw)


def run_both(m, x, hw, seed=7):
    torch.manual_seed(seed)
    got = m(x, hw)
    torch.manual_seed(seed)
    want = official(m, x, hw)
    return got, want


def grads(out, inputs):
    weight = torch.randn_like(out, generator=torch.Generator().manual_seed(1))
    return torch.autograd.grad((out * weight).sum(), inputs)


@pytest.mark.parametrize('channels,hw,extra,bottleneck', [(24, (6, 9), 0, 16), (32, (5, 4), 2, 8)])
@pytest.mark.parametrize('drop', [0.0, 0.3])
def test_fused_step_equals_the_official_formula_in_values_and_every_gradient(
        channels, hw, extra, bottleneck, drop):
    m = randomised(channels, bottleneck, drop).train()
    x = torch.randn(2, extra + hw[0] * hw[1], channels, requires_grad=True)
    got, want = run_both(m, x, hw)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    if drop:  # the dropout drew the same mask: a different seed gives another output
        torch.manual_seed(8)
        assert not torch.allclose(m(x, hw), want)
    names = ['x'] + [n for n, _ in m.named_parameters()]
    inputs = [x] + list(m.parameters())
    for name, a, b in zip(names, grads(got, inputs), grads(want, inputs)):
        assert_close_to_scale(a, b, 1e-5, msg=f'gradient of {name}')


def test_eval_and_no_grad_give_the_formula():
    m = randomised(16, 8, 0.5).eval()
    x = torch.randn(1, 12, 16)
    with torch.no_grad():
        got, want = run_both(m, x, (3, 4))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_input_without_grad_gives_parameter_grads_only():
    m = randomised(16, 8, 0.0)
    x = torch.randn(1, 12, 16)  # a frozen stem in front: no gradient wanted for x
    got, want = run_both(m, x, (3, 4))
    for a, b in zip(grads(got, list(m.parameters())), grads(want, list(m.parameters()))):
        assert_close_to_scale(a, b, 1e-5)


def test_kernels_built_for_many_layers_equal_each_layers_own():
    layers = [randomised(c, 8, 0.2, seed=i) for i, c in enumerate((16, 24, 16))]
    x = [torch.randn(2, 12, m.norm.weight.shape[0], requires_grad=True) for m in layers]

    def outputs_and_grads(prepare):
        if prepare:
            MonaLayer.prepare_group(layers)
        torch.manual_seed(3)
        outs = [m(xi, (3, 4)) for m, xi in zip(layers, x)]
        inputs = x + [p for m in layers for p in m.parameters()]
        return outs, grads(torch.cat([o.flatten() for o in outs]), inputs)

    alone, grads_alone = outputs_and_grads(False)
    batched, grads_batched = outputs_and_grads(True)
    for a, b in zip(alone + list(grads_alone), batched + list(grads_batched)):
        assert_close_to_scale(a, b, 1e-5)
    for m in layers:  # a second step without a new build: each layer builds its own
        m(torch.randn(1, 12, m.norm.weight.shape[0]), (3, 4)).sum().backward()


def test_prepared_kernels_follow_the_parameters():
    m = randomised(16, 8, 0.0).eval()
    x = torch.randn(1, 12, 16)
    MonaLayer.prepare_group([m])
    prepared = kernels(m)
    assert kernels(m) is not prepared  # once only: the next call builds its own
    MonaLayer.prepare_group([m])
    with torch.no_grad():
        m.adapter_conv.conv2.weight.mul_(2)  # as an optimizer's step does, in place
    assert kernels(m) is not prepared
    torch.testing.assert_close(m(x, (3, 4)), official(m, x, (3, 4)), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        MonaLayer.prepare_group([m])  # built without autograd: not used where it is needed
    got = m(x, (3, 4))
    assert got.requires_grad and all(
        g is not None for g in torch.autograd.grad(got.sum(), list(m.parameters())))


def test_prepared_layer_copies_and_merges():
    m = randomised(16, 8, 0.0).eval()
    MonaLayer.prepare_group([m])
    x = torch.randn(1, 12, 16)
    twin = copy.deepcopy(m)  # the kernels are kept beside the layer, not on it (EMA copies)
    merged = copy.deepcopy(m)
    merged.adapter_conv = merged.adapter_conv.merge()
    for other in (twin, merged):
        torch.testing.assert_close(other(x, (3, 4)), m(x, (3, 4)), rtol=1e-5, atol=1e-5)


def count_layer(m, x, hw, prepared=False):
    m.zero_grad(set_to_none=True)
    if prepared:
        MonaLayer.prepare_group([m])
    return count_step(lambda: m(x, hw).sum(), lambda loss: loss.backward(), module=m)


def count_function(m, x, hw):
    """The fused step alone, on kernels given as leaves (as a batched build hands them out)."""
    m.zero_grad(set_to_none=True)
    with torch.no_grad():
        built = [t.clone().requires_grad_() for t in build_kernels([m])[0]]
    count_function.kernel_bytes = sum(t.numel() * t.element_size() for t in built)
    return count_step(lambda: mona_step(m, x, hw, 0, built).sum(), lambda loss: loss.backward(),
                      module=m)


def test_one_layer_dispatches_fewer_ops_than_the_official_layer():
    m = randomised(32, 16, 0.1).train()
    x = torch.randn(2, 64, 32, requires_grad=True)
    # 9 ops forward (+ the loss's sum), 25 back (+ the loss's ones_like)
    c = count_function(m, x, (8, 8))
    assert (c.ops['forward'], c.ops['backward']) == (9 + 1, 25 + 1), c.by_op
    m.adapter_conv.fused = False
    official_layer = count_layer(m, x, (8, 8)).total_ops - 2
    assert official_layer >= 44  # the official code's layer: 44 (ours module by module: 45)


def test_layers_of_a_backbone_build_their_kernels_together_below_the_official_count():
    """In a backbone the kernels of all its Mona layers are built in one pass per step
    (``DeltaTunedBackbone.prepare_adapters``): about one op per layer, where a layer alone
    spends 17 on its own (forward and backward)."""
    layers = [randomised(32, 16, 0.1, seed=i).train() for i in range(12)]
    x = torch.randn(2, 64, 32, requires_grad=True)

    def step():
        MonaLayer.prepare_group(layers)
        y = x
        for m in layers:
            y = m(y, (8, 8))
        return y.sum()

    c = count_step(step, lambda loss: loss.backward())
    per_layer = (c.total_ops - 2) / len(layers)
    assert per_layer < 34 + 3, c.by_op  # the step, and its share of the one build
    alone = count_layer(layers[0], x, (8, 8)).total_ops - 2
    assert alone == 34 + 17


def test_fused_step_keeps_only_the_output_gelu_input_and_mask():
    m = randomised(32, 16, 0.1).train()
    x = torch.randn(2, 64, 32, requires_grad=True)
    c = count_function(m, x, (8, 8))
    tokens = 2 * 64
    # output (B, N, C) float, GELU's input (B, N, k) float, dropout's mask (B, N, k) bool, and
    # the kernels (parameters, in effect)
    assert c.saved == (tokens * 32 * 4 + tokens * 16 * 4 + tokens * 16
                       + count_function.kernel_bytes)
    m.adapter_conv.fused = False
    assert count_layer(m, x, (8, 8)).saved > 2.5 * c.saved  # official: LN out, map, conv out...
