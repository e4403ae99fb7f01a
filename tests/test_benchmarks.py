"""The benchmark script runs in its tiny mode, so it cannot rot (timings are not asserted)."""
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_bench_tuning_tiny_mode():
    out = subprocess.run([sys.executable, osp.join(ROOT, 'benchmarks', 'bench_tuning.py'),
                          '--tiny'], capture_output=True, text=True, check=True, timeout=600,
                         cwd=ROOT).stdout
    for task in ('mask-rcnn', 'upernet'):
        assert f'## training step, {task}, Swin-T, 64x64, batch 2' in out
    assert len(re.findall(r'^Full\s+\d+ ms\s+1\.00x\s+\d+ MiB\s+1\.00x', out, re.M)) == 2
    assert len(re.findall(r'^Mona\s+\d+ ms\s+[\d.]+x', out, re.M)) == 2
    assert re.search(r'^Swin-Mona merged\s+[\d.]+ ms\s+[\d.]+x', out, re.M)
    assert re.match(r'device \w+ .*, torch \S+, mmengine \S+, mmdet \S+, python \S+', out)
