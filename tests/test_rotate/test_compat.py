"""Each shim of mona_mm.rotate.compat: what it fixes, shown by the failure it prevents.

The import shims apply where the installed mmrotate needs them (read from its source): upstream
mmrotate 1.0.0rc1 needs both, the OneDL fork's onedl-mmrotate 1.2.1 neither. The tests of a
failure that the installed mmrotate does not have skip, saying so.
"""
import collections
import subprocess
import sys

import numpy as np
import pytest

from mona_mm.rotate import compat

ROOT = compat.mmrotate_root()
CAP = compat.mmdet_cap_of(ROOT)
needs_cap = pytest.mark.skipif(
    CAP is None, reason='the installed mmrotate asserts no mmdet version (onedl-mmrotate): '
    'its import needs no shim, so there is no failure to show')


def _package(tmp_path, **files):
    for name, text in files.items():
        path = tmp_path / 'pkg' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path / 'pkg')


def test_the_probes_read_what_a_package_imports_and_asserts(tmp_path):
    root = _package(tmp_path, **{
        '__init__.py': "mmdet_maximum_version = '3.1.0'\n",
        'a.py': 'from collections import Sequence, OrderedDict\n',
        'sub/b.py': 'from collections import (Mapping as M,\n    defaultdict)\n',
        '.mim/tools/c.py': 'from collections import Callable\n'})  # configs, never imported
    assert compat.collections_names_imported(root) == ['Mapping', 'Sequence']
    assert compat.mmdet_cap_of(root) == '3.1.0'
    plain = _package(tmp_path / 'plain', **{'__init__.py': 'from .version import __version__\n',
                                            'a.py': 'from collections import OrderedDict\n'})
    assert compat.collections_names_imported(plain) == [] and compat.mmdet_cap_of(plain) is None


def test_the_probes_on_the_installed_mmrotate():
    from importlib.metadata import PackageNotFoundError, version
    try:
        upstream = version('mmrotate')
    except PackageNotFoundError:
        upstream = None
    names = compat.collections_names_imported(ROOT)
    if upstream == '1.0.0rc1':
        assert names == ['Sequence'] and CAP == '3.1.0'
    else:  # onedl-mmrotate 1.2.1
        assert names == [] and CAP is None


def test_collections_aliases_for_mmrotate():
    compat.import_mmrotate()
    for name in compat.collections_names_imported(ROOT):
        assert getattr(collections, name) is getattr(collections.abc, name)
    assert compat.alias_collections_abc(compat.collections_names_imported(ROOT)) == []  # idempotent
    # the very import mmrotate 1.0.0rc1 does (from collections import Sequence)
    from mmrotate.models.detectors import refine_single_stage  # noqa: F401


def test_mmdet_version_is_presented_then_restored():
    import mmdet
    real = mmdet.__version__
    with pytest.raises(RuntimeError):
        with compat.mmdet_version_presented_as('3.1.0'):
            assert mmdet.__version__ == '3.1.0'
            raise RuntimeError('restored even on error')
    assert mmdet.__version__ == real


def test_mmrotate_imports_with_the_installed_mmdet():
    mmrotate = compat.import_mmrotate()
    import mmdet
    from mmengine.utils import digit_version
    assert mmrotate is sys.modules['mmrotate']
    if CAP is not None:  # upstream: mmdet 3.3.0 is newer than the cap, presented as the cap
        assert digit_version(mmdet.__version__) > digit_version(CAP)
        assert compat.mmdet_presented_version() == CAP
    else:
        assert compat.mmdet_presented_version() is None


@needs_cap
def test_mmrotate_fails_without_the_shims():
    code = 'import mmrotate'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode != 0
    assert 'MMDetection' in result.stderr and 'is incompatible' in result.stderr


def _rbox(*values):
    return np.array([values], dtype=np.float32)


def test_dota_map_is_computed_in_threads():
    import multiprocessing
    from multiprocessing.pool import ThreadPool

    from mmrotate.evaluation.functional import mean_ap
    pool = mean_ap.get_context('spawn').Pool(2)  # what eval_rbbox_map opens
    assert isinstance(pool, ThreadPool)
    pool.close()
    empty = np.zeros((0, 6), np.float32)
    # class 0: three objects; two found exactly, plus a higher-scored detection of the third
    # turned by 90 degrees (rotated IoU 0.15, a false positive); class 1: missed
    dets = [[np.concatenate([_rbox(50, 50, 40, 10, 0.3, 0.9), _rbox(20, 20, 10, 10, 0, 0.8)]),
             empty],
            [_rbox(60, 60, 30, 8, -0.7 + np.pi / 2, 0.95), empty]]
    anns = [dict(bboxes=np.concatenate([_rbox(50, 50, 40, 10, 0.3), _rbox(20, 20, 10, 10, 0)]),
                 labels=np.array([0, 0])),
            dict(bboxes=np.concatenate([_rbox(60, 60, 30, 8, -0.7), _rbox(90, 30, 12, 6, 1.0)]),
                 labels=np.array([0, 1]))]
    for ann in anns:
        ann.update(bboxes_ignore=np.zeros((0, 5), np.float32), labels_ignore=np.zeros(0, int))
    mean, results = mean_ap.eval_rbbox_map(dets, anns, dataset=['a', 'b'])
    assert multiprocessing.active_children() == []  # no worker processes were started
    # VOC07 11 points: precision 2/3 up to recall 2/3 (7 of 11 points), then nothing
    assert results[0]['ap'] == pytest.approx(7 / 11 * 2 / 3)
    assert results[1]['ap'] == 0 and mean == pytest.approx(7 / 33)


@needs_cap
def test_spawned_dota_map_workers_cannot_import_mmrotate():
    """What each spawned worker of eval_rbbox_map does first: unpickle its task function."""
    import pickle

    from mmrotate.evaluation.functional import mean_ap
    payload = pickle.dumps(mean_ap.tpfp_default)
    code = 'import pickle, sys; pickle.loads(sys.stdin.buffer.read())'
    result = subprocess.run([sys.executable, '-c', code], input=payload, capture_output=True)
    assert result.returncode != 0
    assert b'MMDetection' in result.stderr and b'is incompatible' in result.stderr
