"""mona_mm: Mona and the delta-tuning baselines for dense prediction on OpenMMLab 2.0.

The OpenMMLab stack (mmcv built from source with ops, mmdet, mmseg, mmrotate) is installed by
``bash tools/install.sh``; see README.md. ``install_requires`` is left to requirements.txt because
mmcv must be built without build isolation against the installed torch.

A built package (``pip install .``, a wheel) carries the configs as ``mona_mm/.mim/configs``,
OpenMMLab's place for a package's configs, so a project can inherit them without a source
checkout (``mona_mm.config_path``); an editable install reads the checkout's ``configs/``.
"""
import os.path as osp

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'mona_mm', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


class BuildPyWithConfigs(build_py):
    """``build_py`` that also copies ``configs/`` into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            return  # an editable install imports the checkout, whose configs/ is beside it
        self.copy_tree(osp.join(HERE, 'configs'),
                       osp.join(self.build_lib, 'mona_mm', '.mim', 'configs'))


with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='mona_mm',
    version=get_version(),
    description='Mona (CVPR 2025) and delta-tuning baselines on Swin for mmdet, mmseg and mmrotate',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(include=('mona_mm', 'mona_mm.*')),
    python_requires='>=3.10',
    cmdclass={'build_py': BuildPyWithConfigs},
    zip_safe=False,
)
