"""benchmarks/gpu_run.py, issue 20's prepared GPU run, in its CPU dry run (a small Swin at 64 px,
one repeat, no capture, the profiler on CPU activity), so that the script a lent GPU runs once
cannot rot; its numbers are not asserted. tools/gpu/run_gpu_bench.sh, which carries it to a GPU
machine without a package index, refuses a folder without wheels with one clear message."""
import os
import os.path as osp
import re
import subprocess
import sys

from tests.helpers import ROOT

SCRIPT = osp.join(ROOT, 'benchmarks', 'gpu_run.py')
RUNNER = osp.join(ROOT, 'tools', 'gpu', 'run_gpu_bench.sh')


def test_dry_run_prints_every_table():
    out = subprocess.run([sys.executable, SCRIPT, '--dry-run'], capture_output=True, text=True,
                         timeout=600, cwd=ROOT, env=dict(os.environ, PYTHONWARNINGS='ignore'))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    assert re.search(r'^device cpu .*, torch \S+, mmengine \S+, python \S+', text, re.M)
    for name in ('Swin backbone small Swin', 'UperNet small Swin'):
        assert f'## training step, {name}, 64x64, batch 2, fp32, eager and captured' in text
    for method in ('Full', 'Fixed', 'LoRA', 'Adapter', 'Mona'):
        # one row per task: eager time and ratio; no capture without CUDA
        rows = re.findall(rf'^\| {method} \| [\d.]+ ms \| [\d.]+x \| - \| - \| - \| [\d,]+ \| '
                          r'off \(no CUDA\) \|$', text, re.M)
        assert len(rows) == 2, (method, text)
    assert re.search(r'^\| Full \| [\d.]+ ms \| 1\.00x \|', text, re.M)
    for model in ('plain Swin', 'Swin-Mona', 'Swin-Mona merged'):
        assert re.search(rf'^\| {model} \| [\d.]+ ms \| [\d.]+x \|$', text, re.M), model
    assert '## inference, small Swin backbone, 96x64, batch 1, fp32' in text
    for method in ('Full', 'Mona'):
        assert re.search(rf'## top operators by self CPU time, one eager training step, {method},'
                         r' small Swin backbone, 64x64, batch 2, fp32: \d+ launched', text)
    assert re.search(r'^total \d+ s$', text, re.M)


def test_without_cuda_the_real_run_says_how_to_run_it():
    out = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env=dict(os.environ, CUDA_VISIBLE_DEVICES=''))
    assert out.returncode == 2
    assert 'PyTorch sees no CUDA device here: run on a GPU machine, or use --dry-run' in out.stderr


def test_runner_without_wheels_says_where_they_come_from(tmp_path):
    out = subprocess.run(['bash', RUNNER, str(tmp_path / 'none'), str(tmp_path / 'out')],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 1
    assert out.stderr.strip() == (f'[gpu-bench] no wheels in {tmp_path / "none"}: make them with '
                                  'tools/gpu/pack_wheels.sh where pip works (docs/install.md).')
    assert not (tmp_path / 'out').exists()
