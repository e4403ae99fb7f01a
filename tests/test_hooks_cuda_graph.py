"""CudaGraphHook on the CPU: built from a config, logs that capture is off, changes nothing.

The captured path needs a CUDA device: tests/test_cuda/test_cuda_graph.py.
"""

import pytest
import torch
import torch.nn as nn
from mmengine.registry import HOOKS

from mona_mm.hooks import CudaGraphHook, capture_backbone
from mona_mm.hooks.cuda_graph_hook import CapturedForward, model_backbone
from mona_mm.models import SwinMona
from tests.conftest import TINY_SWIN
from tests.helpers import recording_logger


class Segmentor(nn.Module):
    """A backbone with a head: what the hook finds as ``runner.model``."""

    def __init__(self, tuning: str = 'Mona') -> None:
        super().__init__()
        torch.manual_seed(0)
        self.backbone = SwinMona(tuning=tuning, **TINY_SWIN)
        self.head = nn.Conv2d(self.backbone.num_features[-1], 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = self.backbone(x)
        return self.head(outs[-1]).square().mean() + sum(o.mean() for o in outs[:-1])


class DDPLike(nn.Module):
    """The ``.module`` wrapping of MMDistributedDataParallel, without a process group."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module


class Runner:
    """What ``before_train``/``after_train`` read from mmengine's runner: model and logger."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.logger, self.records = recording_logger(f'test_cuda_graph.{id(self)}')


def step(model: nn.Module, x: torch.Tensor):
    """Loss and the trainable parameters' gradients of one forward + backward."""
    model.zero_grad(set_to_none=True)
    torch.manual_seed(1)  # Mona's dropout: the same draws in every call
    loss = model(x)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                           if p.grad is not None}


def test_built_from_a_config_dict():
    hook = HOOKS.build(dict(type='CudaGraphHook'))
    assert isinstance(hook, CudaGraphHook) and hook.max_shapes == 1 and hook.enabled
    assert HOOKS.build(dict(type='CudaGraphHook', max_shapes=2)).max_shapes == 2
    from mmseg.registry import HOOKS as SEG_HOOKS  # a config with default_scope='mmseg'
    assert isinstance(SEG_HOOKS.build(dict(type='CudaGraphHook')), CudaGraphHook)
    with pytest.raises(ValueError, match='max_shapes must be at least 1'):
        CudaGraphHook(max_shapes=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason='this checks the machine without CUDA')
def test_without_cuda_logs_once_and_leaves_the_model_eager():
    x = torch.randn(2, 3, 40, 36)
    reference = step(Segmentor(), x)
    model = Segmentor()
    runner = Runner(DDPLike(model))
    hook = CudaGraphHook()
    hook.before_train(runner)
    assert [line for line in runner.records.lines if 'CudaGraphHook' in line] == [
        'CudaGraphHook: CUDA is not available here, so CUDA-graph capture is off: the backbone '
        'runs eagerly.']
    assert 'forward' not in model.backbone.__dict__ and hook.captured is None
    loss, grads = step(model, x)
    torch.testing.assert_close(loss, reference[0], rtol=0, atol=0)
    assert grads.keys() == reference[1].keys()
    for name in grads:
        torch.testing.assert_close(grads[name], reference[1][name], rtol=0, atol=0)
    hook.after_train(runner)


def test_disabled_hook_says_so():
    runner = Runner(Segmentor())
    CudaGraphHook(enabled=False).before_train(runner)
    assert runner.records.lines == ['CudaGraphHook: disabled (enabled=False); the backbone runs '
                                    'eagerly.']
    assert 'forward' not in runner.model.backbone.__dict__


@pytest.mark.parametrize('tuning', ['Mona', 'Full'])
def test_captured_forward_on_cpu_inputs_is_the_eager_forward(tuning):
    """The dispatcher itself on CPU tensors: every call eager, outputs and gradients exactly
    those of the unwrapped backbone, state-dict keys unchanged, remove() restores."""
    x = torch.randn(2, 3, 40, 36)
    reference = step(Segmentor(tuning), x)
    model = Segmentor(tuning)
    keys = list(model.state_dict())
    dispatcher = capture_backbone(model_backbone(DDPLike(model)))
    assert isinstance(model.backbone.forward, CapturedForward)
    assert capture_backbone(model.backbone) is dispatcher  # idempotent
    assert list(model.state_dict()) == keys
    for _ in range(2):
        loss, grads = step(model, x)
        torch.testing.assert_close(loss, reference[0], rtol=0, atol=0)
        for name, grad in reference[1].items():
            torch.testing.assert_close(grads[name], grad, rtol=0, atol=0)
    assert dispatcher.eager_calls == 2 and dispatcher.replays == 0 and not dispatcher.graphs
    model.eval()
    with torch.no_grad():
        model.backbone(x)
    assert dispatcher.eager_calls == 3
    dispatcher.remove()
    assert 'forward' not in model.backbone.__dict__
    assert type(model.backbone.forward).__name__ == 'method'


def test_model_without_backbone_is_a_clear_error():
    with pytest.raises(AttributeError, match='has no backbone module to capture'):
        model_backbone(DDPLike(nn.Linear(2, 2)))


def test_argument_errors():
    with pytest.raises(ValueError, match='num_warmup_iters must be at least 1'):
        capture_backbone(nn.Linear(2, 2), num_warmup_iters=0)
    with pytest.raises(ValueError, match='max_shapes must be at least 1'):
        capture_backbone(nn.Linear(2, 2), max_shapes=0)
