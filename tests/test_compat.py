"""Each shim of mona_mm.compat: what it fixes, shown by the failure it prevents."""
import collections
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch


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


@pytest.mark.skipif(
    hasattr(__import__('mmengine.runner.checkpoint', fromlist=['x']), '_safe_torch_load'),
    reason='this mmengine (the OneDL fork, 0.10.12) loads its checkpoints itself, falling back to '
           'weights_only=False: the failure the shim is for does not happen')
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



def test_config_scopes_point_at_the_installed_stack():
    """On the upstream stack the scopes keep their distributions; on the OneDL fork (other
    distribution names, same modules) they are pointed at the fork's, and an ``mmseg::`` base
    resolves on both."""
    import os.path as osp
    from importlib import metadata

    from mmengine.config import Config, utils

    from mona_mm.compat import FORK_DISTRIBUTIONS, resolve_fork_config_scopes
    from tests.helpers import ROOT

    def installed(name):
        try:
            metadata.distribution(name)
            return True
        except metadata.PackageNotFoundError:
            return False

    resolve_fork_config_scopes()  # idempotent: import mona_mm applied it already
    for scope, (upstream, fork) in FORK_DISTRIBUTIONS.items():
        expected = fork if not installed(upstream) and installed(fork) else upstream
        assert utils.MODULE2PACKAGE[scope] == expected, scope
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'tiny', 'upernet_swin-mona_tiny-ade20k.py'))
    assert cfg.model.decode_head.type == 'UPerHead'


def test_a_plain_load_works_after_mmengine_loaded_a_checkpoint(tmp_path):
    """mmengine 0.10.12 (the fork) unregisters our allowed globals after each of its loads;
    the shim renews them there (no-op upstream): on both stacks a plain ``torch.load`` of an
    mmengine checkpoint works after mmengine has loaded one."""
    from mmengine.runner.checkpoint import CheckpointLoader
    path = tmp_path / 'epoch_1.pth'
    _mmengine_like_checkpoint(path)
    CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert 'message_hub' in torch.load(path, map_location='cpu')
