"""Each shim of mona_mm.compat: what it fixes, shown by the failure it prevents."""
import collections
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from mona_mm import compat


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


def _mmengine_like_checkpoint(path):
    from mmengine.logging.history_buffer import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(np.float64(1.5))
    torch.save({
        'meta': {'seed': np.int64(3), 'best': np.float32(0.5)},
        'message_hub': {'log_scalars': {'train/loss': buf}},
        'param_schedulers': [{'milestones': collections.Counter({8: 1, 11: 1})}],
        'state_dict': {'w': torch.ones(2)},
    }, path)


def test_mmengine_checkpoint_loads_under_weights_only(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    _mmengine_like_checkpoint(path)
    from mmengine.runner.checkpoint import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() == 1.5
    assert ckpt['param_schedulers'][0]['milestones'][8] == 1


def test_mmengine_checkpoint_fails_without_the_shim(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    _mmengine_like_checkpoint(path)
    code = textwrap.dedent(f"""
        from mmengine.runner.checkpoint import CheckpointLoader
        CheckpointLoader.load_checkpoint({str(path)!r}, map_location='cpu')
    """)
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode != 0 and 'Weights only load failed' in result.stderr


def test_weights_only_still_refuses_arbitrary_objects(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': collections.UserDict(a=1)}, path)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path)
