"""Each shim of mona_mm.rotate.compat: what it fixes, shown by the failure it prevents."""
import collections
import subprocess
import sys

import numpy as np
import pytest

from mona_mm.rotate import compat


def test_collections_aliases_for_mmrotate():
    assert collections.Sequence is collections.abc.Sequence
    assert compat.alias_collections_abc() == []  # idempotent
    # the very import mmrotate 1.0.0rc1 does
    from mmrotate.models.detectors import refine_single_stage  # noqa: F401


def test_mmdet_version_is_presented_then_restored():
    import mmdet
    real = mmdet.__version__
    with pytest.raises(RuntimeError):
        with compat.mmdet_version_presented_as('3.1.0'):
            assert mmdet.__version__ == '3.1.0'
            raise RuntimeError('restored even on error')
    assert mmdet.__version__ == real == '3.3.0'


def test_mmrotate_imports_with_mmdet_3_3():
    mmrotate = compat.import_mmrotate()
    import mmdet
    assert mmrotate.__version__ == '1.0.0rc1' and mmdet.__version__ == '3.3.0'


def test_mmrotate_fails_without_the_shims():
    code = 'import mmrotate'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode != 0 and 'MMDetection 3.3.0 is incompatible' in result.stderr


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


def test_spawned_dota_map_workers_cannot_import_mmrotate():
    """What each spawned worker of eval_rbbox_map does first: unpickle its task function."""
    import pickle

    from mmrotate.evaluation.functional import mean_ap
    payload = pickle.dumps(mean_ap.tpfp_default)
    code = 'import pickle, sys; pickle.loads(sys.stdin.buffer.read())'
    result = subprocess.run([sys.executable, '-c', code], input=payload, capture_output=True)
    assert result.returncode != 0
    assert b'MMDetection 3.3.0 is incompatible' in result.stderr
