"""mona_mm: Mona and the delta-tuning baselines for dense prediction on OpenMMLab 2.0.

The OpenMMLab stack (mmcv built from source with ops, mmdet, mmseg, mmrotate) is installed by
``bash tools/install.sh``; see README.md. ``install_requires`` is left to requirements.txt because
mmcv must be built without build isolation against the installed torch.
"""
from setuptools import find_packages, setup


def get_version() -> str:
    scope: dict = {}
    with open('mona_mm/version.py', encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mona_mm',
    version=get_version(),
    description='Mona (CVPR 2025) and delta-tuning baselines on Swin for mmdet, mmseg and mmrotate',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(exclude=('tests', 'tools', 'configs', 'benchmarks')),
    python_requires='>=3.10',
    zip_safe=False,
)
