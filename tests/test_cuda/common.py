"""What the CUDA tests share: the skip marks and a runner for the README's tools.

Every test in this package carries ``pytest.mark.cuda`` and is skipped, not failed, on a machine
without a CUDA device (CI is CPU only). Run them on a GPU machine with::

    python -m pytest -m cuda tests/test_cuda
"""
import os
import os.path as osp
import subprocess
import sys
from typing import List

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HAS_CUDA = torch.cuda.is_available()

#: the marks of every CUDA test module (``pytestmark = REQUIRES_CUDA``)
REQUIRES_CUDA = [
    pytest.mark.cuda,
    pytest.mark.skipif(not HAS_CUDA, reason='needs a CUDA device (torch.cuda.is_available())'),
]


def tool(*parts: str) -> str:
    """Path of a script under tools/."""
    return osp.join(ROOT, 'tools', *parts)


def run(args: List[str], cwd, timeout: float = 900, **env_extra: str) -> str:
    """Run a command as a user would, with this checkout importable; return stdout + stderr.

    Fails the test with the output's tail if the command fails.
    """
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
               **env_extra)
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    return out


def make_tiny_data(dataset: str, out_dir: str, **counts: int) -> str:
    """Write a generated tiny set with the README's command-line tool; return its output."""
    options = [f'--{k.replace("_", "-")}={v}' for k, v in counts.items()]
    return run([sys.executable, tool('misc', 'make_tiny_data.py'), dataset, out_dir] + options,
               cwd=ROOT)
