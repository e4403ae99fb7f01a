"""Issue 20, item 4: the backbones' training forward (and the backward AOTAutograd derives from
it) traces as one graph, with no graph break and no host sync, for both families and every
tuning method, and the traced step computes what eager mode does.

``torch.compile(fullgraph=True)`` raises at the first graph break, so tracing is the check; the
``aot_eager`` backend traces forward and backward through AOTAutograd (what inductor and CUDA
graphs build on) and runs the traced graphs with PyTorch's own kernels, so the comparison with
eager mode is about the tracing, not about a code generator (and needs no C++ compiler here).
Dropout and drop path are off for the comparison (their masks would differ), on for a second
trace (they must not break the graph either). Every parameter is moved off its initialisation,
so that zero-initialised adapters (LoRA's B, Mona's small gamma) take part.
"""
import pytest
import torch
import torch.nn as nn

from benchmarks.op_count import count_step
from mona_mm.models import SwinMona, ViTMona
from mona_mm.tuning import available_methods
from tests.conftest import TINY_SWIN
from tests.helpers import assert_close_to_scale

TINY_VIT = dict(embed_dims=32, num_layers=4, num_heads=2, patch_size=8, img_size=32,
                out_indices=(1, 3), num_register_tokens=2, layer_scale_init_value=0.1)
FAMILIES = {
    'swin': (lambda tuning, **kw: SwinMona(tuning=tuning, **dict(TINY_SWIN, **kw)), (40, 36)),
    'vit': (lambda tuning, **kw: ViTMona(tuning=tuning, **dict(TINY_VIT, **kw)), (32, 40)),
}


def build(family: str, method: str, dropout: bool) -> nn.Module:
    make, _ = FAMILIES[family]
    torch.manual_seed(0)
    model = make(method, drop_path_rate=0.1 if dropout else 0.0).train()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    if not dropout:
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0
    return model


def step(model: nn.Module, x: torch.Tensor, run=None):
    """Outputs and the trainable parameters' gradients of one training forward + backward of
    ``model``, called as ``run`` (the compiled model; default: the model itself)."""
    model.zero_grad(set_to_none=True)
    outs = (run if run is not None else model)(x)
    loss = sum(o.square().mean() for o in outs)
    if loss.requires_grad:  # Fixed trains nothing in the backbone
        loss.backward()
    return [o.detach() for o in outs], {n: p.grad for n, p in model.named_parameters()
                                         if p.grad is not None}


@pytest.mark.parametrize('family', list(FAMILIES))
@pytest.mark.parametrize('method', available_methods())
def test_training_step_traces_whole_and_equals_eager(family, method):
    torch._dynamo.reset()
    model = build(family, method, dropout=False)
    x = torch.randn(2, 3, *FAMILIES[family][1])
    eager_outs, eager_grads = step(model, x)
    compiled = torch.compile(model, fullgraph=True, backend='aot_eager')
    outs, grads = step(model, x, compiled)
    assert len(outs) == len(eager_outs)
    for a, b in zip(outs, eager_outs):
        assert_close_to_scale(a, b, 1e-5)
    assert grads.keys() == eager_grads.keys()
    assert bool(grads) == (method != 'Fixed')
    for name, grad in eager_grads.items():
        assert_close_to_scale(grads[name], grad, 1e-5, msg=name)


@pytest.mark.parametrize('family', list(FAMILIES))
@pytest.mark.parametrize('method', ['Mona', 'Adapter', 'Full'])
def test_dropout_and_drop_path_do_not_break_the_graph(family, method):
    torch._dynamo.reset()
    model = build(family, method, dropout=True)
    compiled = torch.compile(model, fullgraph=True, backend='aot_eager')
    outs, grads = step(model, torch.randn(2, 3, *FAMILIES[family][1]), compiled)
    assert all(torch.isfinite(o).all() for o in outs) and grads


@pytest.mark.parametrize('family', list(FAMILIES))
@pytest.mark.parametrize('method', available_methods())
def test_eager_training_step_reads_nothing_on_the_host(family, method):
    """No op of a training forward + backward brings a tensor's value to the host (each would
    stall a GPU's host until the device caught up, and break a CUDA graph's capture)."""
    model = build(family, method, dropout=True)
    x = torch.randn(2, 3, *FAMILIES[family][1])
    count = count_step(lambda: sum(o.square().mean() for o in model(x)),
                       lambda loss: loss.backward() if loss.requires_grad else None,
                       module=model)
    assert sum(count.syncs.values()) == 0, count.by_op
