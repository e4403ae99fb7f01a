"""The cost counter of ``benchmarks/op_count.py`` on modules whose counts are known by hand."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmarks.op_count import SavedBytes, count_step


class Toy(nn.Module):
    """``Linear(4, 3)(x * w + b)``: a scale and shift, then a linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(4))
        self.b = nn.Parameter(torch.randn(4))
        self.lin = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x * self.w + self.b)


def toy_count(optimizer=None, host=()):
    torch.manual_seed(0)
    model, x = Toy(), torch.randn(2, 4)
    opt = optimizer(model.parameters()) if optimizer else None

    def opt_step():
        opt.step()
        opt.zero_grad(set_to_none=True)

    return model, count_step(lambda: model(x).sum(), lambda loss: loss.backward(),
                             opt_step if opt else None, model, host)


def test_forward_backward_optimizer_ops_by_hand():
    _, c = toy_count(lambda params: torch.optim.SGD(params, lr=0.1))
    # forward: mul, add, addmm, sum (the weight's transpose is a view: not counted)
    assert c.ops['forward'] == 4
    assert c.by_op['addmm'] == 1
    # backward: ones_like (the loss's gradient), expand is a view; Linear: mm (grad input),
    # mm (grad weight), sum (grad bias); add: sum (grad b over the batch); mul: mul (grad x*w
    # wrt w), sum (over the batch); the gradient wrt x is not needed
    assert c.ops['backward'] == 7
    # SGD without momentum: one add_ per parameter tensor (4); zero_grad frees, no kernel
    assert c.ops['optimizer'] == 4
    assert c.total_ops == 15
    assert sum(c.tiny.values()) == 15  # all touch a few bytes
    assert sum(c.syncs.values()) == 0


def test_flops_and_bytes_by_hand():
    _, c = toy_count()
    # addmm (2x4 @ 4x3): 2*2*4*3 = 48 FLOPs forward; backward: two mm of the same size
    assert c.flops['forward'] == 48
    assert c.flops['backward'] == 96
    # saved for backward: x (2x4, for w's grad) and x*w+b (2x4, for the Linear's weight grad),
    # 8 floats each; w itself is a parameter: not counted
    assert c.saved == 2 * 8 * 4
    # touched by mul: x (32 B), w (16 B), result (32 B)
    assert c.touched['forward'] == (32 + 16 + 32) + (32 + 16 + 32) + (12 + 32 + 48 + 24) + (24 + 4)


def test_adamw_step_counters_are_host_values_not_syncs():
    """AdamW reads its step counters on the host once per parameter tensor: not a sync once
    they are passed as host tensors (as ``TrainStep.count`` does), a sync otherwise."""
    torch.manual_seed(0)
    model, x = Toy(), torch.randn(2, 4)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, foreach=True)
    model(x).sum().backward()
    opt.step()  # creates the state, the step counters among it
    opt.zero_grad(set_to_none=True)

    def opt_step():
        opt.step()
        opt.zero_grad(set_to_none=True)

    def count(host):
        return count_step(lambda: model(x).sum(), lambda loss: loss.backward(), opt_step,
                          model, host)

    steps = [s['step'] for s in opt.state.values()]
    assert len(steps) == 4
    with_host, without = count(steps), count(())
    # on the host: the steps' add_, then two reads per tensor (the two bias corrections)
    assert with_host.host['optimizer'] == 1 + 8
    assert with_host.syncs['optimizer'] == 0 and without.syncs['optimizer'] == 8
    # foreach, one op per kind for all four tensors: the weight decay's mul_, lerp_, mul_,
    # addcmul_, sqrt, div_, add_ (eps), addcdiv_
    assert with_host.ops['optimizer'] == 8
    assert without.ops['optimizer'] == 8 + 1 + 8
    assert with_host.ops['backward'] == 7  # as with SGD: the gradients were set to None


def test_a_device_value_read_on_the_host_is_a_sync():
    x = torch.randn(8)
    c = count_step(lambda: x.sum(), lambda loss: loss.item())
    assert c.syncs['backward'] == 1 and c.by_op['_local_scalar_dense'] == 1
    c = count_step(lambda: x.sum(), lambda loss: loss.item(), host_tensors=[x])
    assert c.syncs['backward'] == 1  # the loss is not a host tensor, only x is
    c = count_step(lambda: x.sum(), lambda loss: x[0].item(), host_tensors=[x])
    assert c.syncs['backward'] == 0


def test_training_dropout_counts_as_cudas_single_op():
    x = torch.randn(16, 16, requires_grad=True)
    c = count_step(lambda: F.dropout(x, 0.1, training=True).sum(), lambda loss: loss.backward())
    assert c.by_op['native_dropout'] == 1 and c.ops['forward'] == 2  # native_dropout, sum
    # ones_like, then native_dropout_backward (the mask times the gradient, scaled)
    assert c.by_op['native_dropout_backward'] == 1 and c.ops['backward'] == 2
    torch.manual_seed(0)
    counted = count_step(lambda: F.dropout(x, 0.5, training=True), lambda out: None)
    assert counted.ops['forward'] == 1


def test_dropout_counted_as_native_draws_what_dropout_draws():
    x = torch.randn(64, 64)
    torch.manual_seed(3)
    expected = F.dropout(x, 0.3, training=True)
    torch.manual_seed(3)
    outs = []
    count_step(lambda: outs.append(F.dropout(x, 0.3, training=True)) or x.sum(), lambda _: None)
    assert torch.equal(outs[0], expected)


def test_saved_bytes_count_a_shared_storage_once_and_not_parameters():
    w = nn.Parameter(torch.randn(100))
    x = torch.randn(100, requires_grad=True)
    with SavedBytes(exclude=[w]) as saved:
        y = x * w  # saves x and w
        z = y * x  # saves y and x again
    assert saved.total == 2 * 400  # x once, y; w is a parameter
    z.sum().backward()
