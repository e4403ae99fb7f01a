"""The benchmark script runs in its tiny mode, so it cannot rot (timings are not asserted); its
memory measurement is checked against allocations of known size, its methods against the
registry, and its batches against the host libraries' own losses."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.model import BaseModel

from benchmarks.memory import cpu_step_peak, live_bytes, step_peak
from benchmarks.tuning_cost import (
    BackboneLoss,
    TrainStep,
    build_task_model,
    default_methods,
    make_batch,
    parse_method,
    without_mona_convolutions,
)
from mona_mm.models import SwinMona
from mona_mm.tuning import available_methods

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_bench_tuning_tiny_mode(tmp_path):
    chart = tmp_path / 'bench.png'
    out = subprocess.run([sys.executable, osp.join(ROOT, 'benchmarks', 'bench_tuning.py'),
                          '--tiny', '--methods', 'Full', 'Mona+cp', '--plot', str(chart)],
                         capture_output=True, text=True, check=True, timeout=600, cwd=ROOT,
                         env=dict(os.environ, PYTHONWARNINGS='ignore')).stdout
    assert out.endswith(f'chart: {chart}\n') and chart.read_bytes()[:4] == b'\x89PNG'
    for task in ('backbone', 'mask-rcnn', 'upernet'):
        assert f'## training step, {task}, Swin-T, 64x64, batch 2\n' in out
    assert '## training step, vit-backbone, ViT-S, 64x64, batch 2\n' in out
    assert len(re.findall(r'^Full\s+\d+ ms\s+1\.00x\s+\d+ MiB\s+1\.00x', out, re.M)) == 4
    assert not re.search(r'^(Adapter|Mona)\s', out, re.M)  # --methods chose Full and Mona+cp
    assert len(re.findall(r'^Mona\+cp\s+\d+ ms\s+[\d.]+x', out, re.M)) == 4
    assert re.search(r'^Swin-Mona merged\s+[\d.]+ ms\s+[\d.]+x', out, re.M)
    assert re.search(r'^bound: projections only\s+[\d.]+ ms\s+[\d.]+x', out, re.M)
    assert re.search(r'^device \w+ .*, torch \S+, mmengine \S+, mmdet \S+, python \S+', out, re.M)
    assert 'USDT' not in out and 'profiler_start' not in out  # profiler chatter kept out


def test_methods_come_from_the_registry():
    methods = default_methods()
    assert methods[0] == 'Full'  # the reference of every ratio
    assert sorted(methods[:-1]) == sorted(available_methods())
    assert methods[-1] == 'Mona+cp'


def test_method_variants():
    assert parse_method('Mona') == ('Mona', '')
    assert parse_method('Mona+cp') == ('Mona', 'cp')
    assert parse_method('LoRA+cp') == ('LoRA', 'cp')
    assert parse_method('Mona+autograd') == ('Mona', 'autograd')
    with pytest.raises(ValueError, match='applies to Mona only'):
        parse_method('LoRA+autograd')
    with pytest.raises(ValueError, match='METHOD\\+cp'):
        parse_method('Mona+fast')
    with pytest.raises(ValueError, match='Valid: .*Mona'):
        parse_method('Monaa+cp')


def test_cpu_step_peak_counts_live_allocations_exactly():
    x = torch.zeros(1000, 1000)  # 4 MB, allocated before: not part of the step's peak

    def step():
        a = x + 1  # 4 MB
        b = a * 2  # 8 MB live
        del a
        c = b + b  # 8 MB live again, then all freed
        del b, c

    assert cpu_step_peak(step) == pytest.approx(8_000_000, abs=4096)
    assert step_peak(step, torch.device('cpu')) == pytest.approx(8_000_000, abs=4096)
    assert cpu_step_peak(lambda: None) == 0


def test_cpu_step_peak_starts_from_what_is_allocated_when_the_step_starts():
    held = [torch.zeros(1000, 1000)]
    cpu_step_peak(lambda: held.append(torch.zeros(1000, 1000)))  # 4 MB, recorded

    def step():  # frees those 4 MB, then a 12 MB temporary: 8 MB above the start at most
        held.pop()
        torch.ones(3000, 1000)

    assert cpu_step_peak(step) == pytest.approx(8_000_000, abs=4096)


def test_live_bytes_counts_shared_storage_once():
    x = torch.zeros(1000)
    assert live_bytes([x, x[:10], x.view(10, 100)]) == 4000


class Linear(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(100, 100)

    def forward(self, inputs, data_samples=None, mode='loss'):
        return self.loss(inputs, data_samples)

    def loss(self, inputs, data_samples=None):
        return dict(loss=self.fc(inputs).square().mean())


def test_train_step_memory_counts_weights_state_and_step():
    step = TrainStep(Linear(), torch.randn(8, 100), [])
    step()  # creates AdamW's state
    weights = (100 * 100 + 100) * 4
    # weights + exp_avg + exp_avg_sq + batch, then at least the gradients during the step
    assert step.peak_memory() >= 3 * weights + 8 * 100 * 4 + weights
    assert step.trainable == 100 * 100 + 100


def test_train_step_trains_and_amp_runs_the_forward_in_float16():
    for amp in (False, True):
        torch.manual_seed(0)
        model = Linear()
        dtypes = []
        model.fc.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
        before = model.fc.weight.detach().clone()
        step = TrainStep(model, torch.randn(8, 100), [], amp=amp)
        for _ in range(3):  # AMP skips a step whose scaled gradients overflow, and lowers the scale
            step()
        assert not torch.equal(model.fc.weight, before)
        assert model.fc.weight.grad is None  # zero_grad(set_to_none) after the step
        assert dtypes == [torch.float16 if amp else torch.float32] * 3
        assert step.scaler.is_enabled() == amp


def test_fixed_backbone_step_is_the_forward_pass(tiny_swin_cfg):
    model = BackboneLoss(SwinMona(tuning='Fixed', **tiny_swin_cfg))
    step = TrainStep(model, torch.randn(1, 3, 32, 32), [])
    assert step.opt is None and step.trainable == 0
    step()


@pytest.mark.parametrize('task', ['mask-rcnn', 'upernet'])
def test_task_batches_give_the_host_library_losses(task):
    """The batch goes through the model's own data preprocessor and its losses are finite."""
    torch.manual_seed(0)
    model = build_task_model(task, 'Mona')
    inputs, samples = make_batch(task, model, size=64, batch=2)
    assert inputs.shape == (2, 3, 64, 64) and len(samples) == 2
    loss, log_vars = model.parse_losses(model.train().loss(inputs, samples))
    assert torch.isfinite(loss)
    expected = {'mask-rcnn': 'loss_mask', 'upernet': 'decode.loss_ce'}[task]
    assert expected in log_vars
    assert isinstance(model.backbone, SwinMona)


def test_bound_removes_every_mona_convolution_only(tiny_swin_cfg):
    model = SwinMona(tuning='Mona', **tiny_swin_cfg)
    bound = without_mona_convolutions(model)
    convs = [n for n, _ in model.named_modules() if n.endswith('.adapter_conv')]
    assert convs  # Mona's convolutions are named adapter_conv (the official attribute name)
    for name in convs:
        assert isinstance(bound.get_submodule(name), torch.nn.Identity)
        assert not isinstance(model.get_submodule(name), torch.nn.Identity)
    assert len(list(bound.parameters())) < len(list(model.parameters()))
