"""A wheel built from the repository carries the configs, installs into a fresh virtual
environment, and a downstream config there inherits an installed config and builds its model.

The new environment takes torch and the OpenMMLab stack from the environment the suite runs in,
whatever that is (a virtual environment, conda, the system's interpreter): a ``.pth`` file in its
own site-packages lists the suite's site-packages folders (:func:`suite_site_packages`; building
mmcv again would take most of an hour). Python reads ``.pth`` files only in its own site folders,
so the suite's editable install of this checkout stays invisible there, and the test checks that
the ``mona_mm`` it imports is the wheel's.
"""
import os
import os.path as osp
import shutil
import site
import subprocess
import sys
import zipfile

import pytest

from tests.helpers import ROOT

#: what a copy of the checkout leaves out: outputs, caches, data, version control
SKIP = shutil.ignore_patterns('.git', '.venv', 'build', 'dist', '*.egg-info', 'work_dirs', 'data',
                              '__pycache__', '.pytest_cache', '.ruff_cache', '*.pth')
DOWNSTREAM = """\
_base_ = [__import__('mona_mm').config_path('tiny/mask-rcnn_swin-mona_tiny-coco.py')]
custom_imports = dict(imports=['mona_mm'], allow_failed_imports=False)
model = dict(backbone=dict(tuning=dict(_delete_=True, type='LoRA', rank=4)))
"""
CHECK = """\
import os.path as osp, sys
import mona_mm
from mmengine.config import Config
from mona_mm.runner import build_model
cfg = Config.fromfile('my_config.py')
model = build_model(cfg)
print('module', osp.realpath(mona_mm.__file__))
print('base', osp.realpath(mona_mm.config_path('tiny/mask-rcnn_swin-mona_tiny-coco.py')))
print('tuning', [type(m).__name__ for m in model.backbone.tuning_methods])
print('trainable', sum(p.numel() for p in model.backbone.parameters() if p.requires_grad))
"""


def call(args, cwd, env=None):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600,
                            env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """A wheel built from a copy of the checkout (the build writes build/ and egg-info)."""
    tmp = tmp_path_factory.mktemp('wheel')
    source = tmp / 'source'
    shutil.copytree(ROOT, source, ignore=SKIP)
    call([sys.executable, '-m', 'pip', 'wheel', '--no-build-isolation', '--no-deps', '-q',
          '-w', str(tmp / 'dist'), str(source)], tmp)
    [path] = (tmp / 'dist').glob('mona_mm-*.whl')
    return path


def test_wheel_carries_every_config(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    prefix = 'mona_mm/.mim/configs/'
    configs = {osp.relpath(osp.join(d, f), osp.join(ROOT, 'configs')).replace(os.sep, '/')
               for d, _, files in os.walk(osp.join(ROOT, 'configs')) for f in files
               if f.endswith('.py')}
    assert configs and {n[len(prefix):] for n in names if n.startswith(prefix)} == configs
    assert not any(n.startswith(('tests/', 'benchmarks/', 'tools/')) for n in names)
    assert 'mona_mm/paths.py' in names


def suite_site_packages():
    """The site-packages folders of the interpreter running the suite (a venv's, conda's or the
    system's, and the user's if Python reads it), where torch and the OpenMMLab stack are."""
    folders = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    return [f for f in folders if osp.isdir(f) and osp.realpath(f) != osp.realpath(ROOT)]


def test_installed_wheel_serves_configs_to_a_downstream_project(wheel, tmp_path):
    venv = tmp_path / 'venv'
    call([sys.executable, '-m', 'venv', '--without-pip', str(venv)], tmp_path)
    python = str(venv / 'bin' / 'python')
    own = call([python, '-c', 'import site; print(site.getsitepackages()[0])'], tmp_path).strip()
    with open(osp.join(own, 'suite_site_packages.pth'), 'w') as f:
        f.write('\n'.join(suite_site_packages()) + '\n')
    # the suite's pip, run by the environment's interpreter, installs into the environment
    call([python, '-m', 'pip', 'install', '--no-deps', '--no-index', '-q', str(wheel)], tmp_path)
    project = tmp_path / 'project'
    project.mkdir()
    (project / 'my_config.py').write_text(DOWNSTREAM)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}  # no checkout on the path
    out = dict(line.split(' ', 1) for line in call([python, '-c', CHECK], project, env)
               .splitlines() if line.split(' ', 1)[0] in ('module', 'base', 'tuning',
                                                           'trainable'))
    site = osp.realpath(str(venv / 'lib'))
    assert out['module'].startswith(site), f'imported {out["module"]}, not the wheel'
    assert out['base'].startswith(site) and '/mona_mm/.mim/configs/tiny/' in out['base']
    assert out['tuning'] == "['LoRA']"  # the downstream override of the inherited tuning
    assert int(out['trainable']) > 0
