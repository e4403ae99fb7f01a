"""Registration per host: ``import mona_mm`` registers the backbones, hooks and the dataset types
of detection and segmentation; rotated detection (and its shims) is opt-in, so an environment
without mmrotate runs every mmdet and mmseg config."""
import os
import os.path as osp
import subprocess
import sys
import sysconfig
import textwrap

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_python(code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args, '-c', code], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, env=dict(os.environ, **env))


def site_packages_without(tmp_path, *names: str) -> str:
    """A copy (by symbolic links) of this environment's site-packages without the distributions
    whose names start with ``names``: an environment where they are not installed."""
    site = sysconfig.get_paths()['purelib']
    view = tmp_path / 'site-packages'
    view.mkdir()
    for entry in os.listdir(site):
        if not entry.lower().startswith(names):
            os.symlink(osp.join(site, entry), view / entry)
    return str(view)


def test_import_mona_mm_registers_det_and_seg_but_leaves_mmrotate_alone():
    out = run_python(textwrap.dedent('''
        import collections, sys
        import mona_mm
        from mmengine.registry import HOOKS, MODELS
        from mmdet.registry import DATASETS as DET
        from mmseg.registry import DATASETS as SEG
        assert MODELS.get('SwinMona') is not None and HOOKS.get('DeltaTuningHook') is not None
        assert DET.get('CheckedVOCDataset').__module__ == 'mona_mm.det.datasets'
        assert SEG.get('CheckedADE20KDataset').__module__ == 'mona_mm.seg.datasets'
        assert 'mmrotate' not in sys.modules, 'import mona_mm loaded mmrotate'
        assert not hasattr(collections, 'Sequence'), 'mmrotate shim applied by import mona_mm'
        assert 'mona_mm.testing' not in sys.modules, 'generated data imported by import mona_mm'
        print('ok')
    '''))
    assert out.returncode == 0 and out.stdout.split()[-1] == 'ok', out.stderr[-3000:]


def test_mmdet_and_mmseg_configs_build_without_mmrotate(tmp_path):
    site = site_packages_without(tmp_path, 'mmrotate', 'e2cnn')
    out = run_python(textwrap.dedent('''
        import importlib.util
        assert importlib.util.find_spec('mmrotate') is None
        from mmengine.config import Config
        from mona_mm.runner import build_model
        for path in ('configs/tiny/mask-rcnn_swin-mona_tiny-coco.py',
                     'configs/tiny/upernet_swin-mona_tiny-ade20k.py',
                     'configs/tiny/retinanet_swin-mona_tiny-voc0712.py'):
            model = build_model(Config.fromfile(path))
            assert type(model.backbone).__name__ == 'SwinMona', path
        try:
            import mona_mm.rotate
        except ImportError as e:
            assert 'mona_mm.rotate needs mmrotate' in str(e), e
            print('ok')
    '''), '-S', PYTHONPATH=site)  # -S: no site-packages but the view
    assert out.returncode == 0 and out.stdout.split()[-1] == 'ok', out.stderr[-3000:]
