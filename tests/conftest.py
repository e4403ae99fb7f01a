import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import mona_mm  # noqa: E402,F401  (shims + registration for every test)

# A Swin small enough for CPU tests but with every structural feature: four stages, shifted
# windows, padding (input sizes that are not multiples of the window), patch merging.
TINY_SWIN = dict(embed_dims=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4), window_size=4,
                 drop_path_rate=0.0)


@pytest.fixture
def tiny_swin_cfg():
    return dict(TINY_SWIN)


def pytest_configure(config):
    """Register the ``cuda`` marker: tests that need a CUDA device (tests/test_cuda/, skipped
    without one; run them with ``python -m pytest -m cuda tests/test_cuda``)."""
    config.addinivalue_line('markers', 'cuda: needs a CUDA device; skipped without one')
