"""CudaGraphHook's capture on CUDA: replayed forward and backward equal eager mode.

A Swin-T-sized SwinMona (dropout and drop-path off) is captured by
:func:`mona_mm.hooks.capture_backbone` at its first training call; later calls of the same shape
replay the graphs with new data, and their outputs and every parameter gradient equal those of an
eager copy within 1e-5 (fp32, TF32 off). Another shape runs eagerly and says so in one log line;
gradient accumulation runs the accumulating forwards eagerly and keeps the sums right.
"""
import copy

import pytest
import torch

from mona_mm.hooks import CudaGraphHook, capture_backbone
from mona_mm.models import SwinMona
from tests.helpers import recording_logger
from tests.test_cuda.common import REQUIRES_CUDA

#: TF32 off: eager and captured kernels then compute in full fp32
pytestmark = REQUIRES_CUDA + [pytest.mark.usefixtures('exact_fp32')]

SWIN_T = dict(arch='tiny', drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0)
TUNINGS = [pytest.param(dict(type='Mona', drop=0.0), id='Mona'),
           pytest.param(dict(type='Full'), id='Full')]
SHAPE = (2, 3, 224, 224)
TOL = dict(rtol=1e-5, atol=1e-5)


def build(tuning) -> SwinMona:
    torch.manual_seed(0)
    return SwinMona(tuning=tuning, **SWIN_T).cuda().train()


def images(seed: int, shape=SHAPE) -> torch.Tensor:
    g = torch.Generator(device='cuda').manual_seed(seed)
    return torch.randn(*shape, device='cuda', generator=g)


def step(model: SwinMona, x: torch.Tensor, zero: bool = True):
    """Outputs (cloned: captured ones are the graph's buffers) and gradients of one forward and
    backward of a loss that weighs every output element differently."""
    if zero:
        model.zero_grad(set_to_none=True)
    outs = model(x)
    g = torch.Generator(device='cuda').manual_seed(7)
    loss = sum((o * torch.randn(o.shape, device='cuda', generator=g)).sum() for o in outs)
    loss.backward()
    return ([o.detach().clone() for o in outs],
            {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})


def assert_same(got, want) -> None:
    outs, grads = got
    for o, w in zip(outs, want[0], strict=True):
        torch.testing.assert_close(o, w, **TOL)
    assert grads.keys() == want[1].keys() and grads
    for name, grad in want[1].items():
        torch.testing.assert_close(grads[name], grad, **TOL, msg=lambda m: f'{name}: {m}')


@pytest.mark.parametrize('tuning', TUNINGS)
def test_replayed_forward_and_gradients_equal_eager(tuning):
    eager = build(tuning)
    model = copy.deepcopy(eager)
    keys = list(model.state_dict())
    logger, records = recording_logger(f'test_cuda_graph.replay-{tuning["type"]}')
    captured = capture_backbone(model, logger=logger)
    for seed in range(3):  # the first captures (and replays), the others replay new data
        x = images(seed)
        assert_same(step(model, x), step(eager, x))
    assert (captured.captures, captured.replays, captured.eager_calls) == (1, 3, 0)
    assert list(model.state_dict()) == keys
    assert sum('captured the SwinMona' in line for line in records.lines) == 1

    other = (2, 3, 192, 160)
    for seed in range(2):  # another shape: eager, one log line
        x = images(10 + seed, other)
        assert_same(step(model, x), step(eager, x))
    assert captured.eager_calls == 2 and captured.replays == 3
    shape_lines = [line for line in records.lines if 'differs from the captured' in line]
    assert shape_lines == [
        'CudaGraphHook: input shape (2, 3, 192, 160) differs from the captured (2, 3, 224, 224); '
        'running the SwinMona eagerly (capture needs fixed shapes: segmentation crops, '
        'fixed-size detection; max_shapes=1).']

    x = images(20)  # and back to the captured shape: replay again
    assert_same(step(model, x), step(eager, x))
    assert captured.replays == 4

    model.eval()
    with torch.no_grad():
        for o, w in zip(model(x), eager.eval()(x), strict=True):
            torch.testing.assert_close(o, w, **TOL)
    assert captured.eager_calls == 3
    captured.remove()
    assert 'forward' not in model.__dict__


def test_gradient_accumulation_runs_the_accumulating_forward_eagerly():
    eager = build(dict(type='Mona', drop=0.0))
    model = copy.deepcopy(eager)
    logger, records = recording_logger('test_cuda_graph.accumulate')
    captured = capture_backbone(model, logger=logger)
    step(model, images(0))  # captures
    for zero in (True, False):  # a replay, then an accumulating (eager) forward
        got = step(model, images(1 + zero), zero=zero)
        want = step(eager, images(1 + zero), zero=zero)
    assert_same(got, want)
    assert captured.eager_calls == 1
    assert any('already hold gradients' in line for line in records.lines)


def test_amp_capture_runs_under_autocast():
    """Under float16 autocast the capture happens with autocast's cache off (PyTorch requires
    it); the replay computes what eager autocast computes."""
    eager = build(dict(type='Mona', drop=0.0))
    model = copy.deepcopy(eager)
    captured = capture_backbone(model, logger=recording_logger('test_cuda_graph.amp')[0])
    for seed in range(2):
        x = images(seed)
        with torch.autocast('cuda', dtype=torch.float16):
            got = [o.float() for o in model(x)]
            want = [o.float() for o in eager(x)]
        for o, w in zip(got, want, strict=True):
            torch.testing.assert_close(o, w, rtol=2e-3, atol=2e-3)
    assert captured.captures == 1 and captured.replays == 2


def test_hook_wraps_the_backbone_of_a_wrapped_model():
    class Wrapped(torch.nn.Module):  # MMDistributedDataParallel's .module, without processes
        def __init__(self, module):
            super().__init__()
            self.module = module

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = build(dict(type='Mona', drop=0.0))

    class Runner:
        def __init__(self):
            self.model = Wrapped(Model())
            self.logger, self.records = recording_logger('test_cuda_graph.hook')

    runner = Runner()
    hook = CudaGraphHook()
    hook.before_train(runner)
    backbone = runner.model.module.backbone
    assert backbone.forward is hook.captured
    step(backbone, images(0))
    step(backbone, images(1))
    assert hook.captured.replays == 2
    hook.after_train(runner)
    assert 'forward' not in backbone.__dict__
    assert any('2 replays' in line for line in runner.records.lines)
