"""The benchmark script runs in its tiny mode, so it cannot rot (timings are not asserted);
its CPU memory measurement is checked against allocations of known size."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from mona_mm.benchmark import TrainStep, _cpu_step_peak, _method

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_bench_tuning_tiny_mode():
    out = subprocess.run([sys.executable, osp.join(ROOT, 'benchmarks', 'bench_tuning.py'),
                          '--tiny'], capture_output=True, text=True, check=True, timeout=600,
                         cwd=ROOT, env=dict(os.environ, PYTHONWARNINGS='ignore')).stdout
    for task in ('backbone', 'mask-rcnn', 'upernet'):
        assert f'## training step, {task}, Swin-T, 64x64, batch 2' in out
    assert len(re.findall(r'^Full\s+\d+ ms\s+1\.00x\s+\d+ MiB\s+1\.00x', out, re.M)) == 3
    assert len(re.findall(r'^Mona\s+\d+ ms\s+[\d.]+x', out, re.M)) == 3
    assert len(re.findall(r'^Mona\+cp\s+\d+ ms\s+[\d.]+x', out, re.M)) == 3
    assert re.search(r'^Swin-Mona merged\s+[\d.]+ ms\s+[\d.]+x', out, re.M)
    assert re.search(r'^bound: projections only\s+[\d.]+ ms\s+[\d.]+x', out, re.M)
    assert re.match(r'device \w+ .*, torch \S+, mmengine \S+, mmdet \S+, python \S+', out)
    assert 'USDT' not in out and 'profiler_start' not in out  # profiler chatter kept out


def test_cpu_step_peak_counts_live_allocations_exactly():
    x = torch.zeros(1000, 1000)  # 4 MB, allocated before: not part of the step's peak

    def step():
        a = x + 1  # 4 MB
        b = a * 2  # 8 MB live
        del a
        c = b + b  # 8 MB live again, then all freed
        del b, c

    assert _cpu_step_peak(step) == pytest.approx(8_000_000, abs=4096)


def test_train_step_memory_counts_weights_state_and_step():
    model = torch.nn.Linear(100, 100)

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = model

        def loss(self, inputs, samples):
            return dict(loss=self.fc(inputs).square().mean())

    step = TrainStep(Wrapped(), torch.randn(8, 100), [])
    step()  # creates AdamW's state
    weights = (100 * 100 + 100) * 4
    # weights + exp_avg + exp_avg_sq + batch, then at least the gradients during the step
    assert step.peak_memory() >= 3 * weights + 8 * 100 * 4 + weights
    assert step.trainable == 100 * 100 + 100


def test_method_variants():
    assert _method('Mona') == ('Mona', False)
    assert _method('Mona+cp') == ('Mona', True)
    with pytest.raises(ValueError, match='METHOD\\+cp'):
        _method('Mona+fast')
