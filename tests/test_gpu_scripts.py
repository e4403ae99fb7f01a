"""tools/gpu/: the scripts that carry the CUDA tests to a GPU machine without a package index.

Their GPU run is recorded in docs/install.md; here, without a GPU, the runner goes through its
whole path (wheels into a folder of their own, the environment report, pytest with the ``cuda``
marker, whose tests skip) and both scripts refuse what they cannot use with one clear message.
"""
import os
import os.path as osp
import subprocess
import sys
import zipfile

import pytest
import torch

from tests.helpers import ROOT

PACK = osp.join(ROOT, 'tools', 'gpu', 'pack_wheels.sh')
RUN = osp.join(ROOT, 'tools', 'gpu', 'run_cuda_tests.sh')


def bash(script, *args, **env):
    return subprocess.run(['bash', script, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, **env))


def make_wheel(folder) -> str:
    """A minimal pure-Python wheel (module ``mona_probe``), as pip builds them."""
    path = osp.join(folder, 'mona_probe-0.1-py3-none-any.whl')
    files = {
        'mona_probe.py': 'VALUE = 42\n',
        'mona_probe-0.1.dist-info/METADATA': 'Metadata-Version: 2.1\nName: mona_probe\n'
                                             'Version: 0.1\n',
        'mona_probe-0.1.dist-info/WHEEL': 'Wheel-Version: 1.0\nGenerator: test\n'
                                          'Root-Is-Purelib: true\nTag: py3-none-any\n',
    }
    record = ''.join(f'{name},,\n' for name in files) + 'mona_probe-0.1.dist-info/RECORD,,\n'
    with zipfile.ZipFile(path, 'w') as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr('mona_probe-0.1.dist-info/RECORD', record)
    return path


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CUDA tests would run, not skip')
def test_run_cuda_tests_installs_the_wheels_apart_and_runs_the_cuda_marker(tmp_path):
    wheels, out, site = tmp_path / 'wheels', tmp_path / 'out', tmp_path / 'site'
    wheels.mkdir()
    make_wheel(wheels)
    result = bash(RUN, wheels, out, 'tests/test_cuda/test_merge_cuda.py', SITE=str(site),
                  WORKERS='1', PYTHON=sys.executable)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (site / 'mona_probe.py').exists()  # in its own folder, not the environment
    import mmcv
    environment = (out / 'environment.txt').read_text()
    assert f'torch {torch.__version__}' in environment
    assert f'mmcv {mmcv.__version__} compiled with CUDA' in environment
    log = (out / 'pytest.log').read_text()
    assert ' skipped' in log and 'passed' not in log and 'failed' not in log
    assert (out / 'junit.xml').exists()


def test_run_cuda_tests_without_wheels_says_where_they_come_from(tmp_path):
    result = bash(RUN, tmp_path / 'none', tmp_path / 'out')
    assert result.returncode == 1
    assert result.stderr.strip() == (f'[cuda-tests] no wheels in {tmp_path / "none"}: make them '
                                     'with tools/gpu/pack_wheels.sh where pip works '
                                     '(docs/install.md).')
    assert not (tmp_path / 'out').exists()


@pytest.mark.skipif(torch.version.cuda is not None, reason='about a CPU build of torch')
def test_pack_wheels_refuses_a_cpu_torch(tmp_path):
    result = bash(PACK, tmp_path / 'wheels', PYTHON=sys.executable)
    assert result.returncode == 1
    assert f'torch {torch.__version__} in {sys.executable} is a CPU build' in result.stderr
    assert 'point PYTHON at an environment with that torch' in result.stderr
    assert not (tmp_path / 'wheels').exists()
