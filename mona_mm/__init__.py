"""mona_mm: Mona (CVPR 2025) and the delta-tuning baselines on Swin for OpenMMLab 2.0.

``import mona_mm`` (or ``custom_imports=dict(imports=['mona_mm'])`` in a config) applies the
compatibility shims of :mod:`mona_mm.compat` and registers ``SwinMona`` (MODELS),
``DeltaTuningHook`` and ``RNGStateHook`` (HOOKS) in mmengine's root registries, where mmdet, mmseg
and mmrotate configs all find them, and the dataset types of :mod:`mona_mm.datasets` in the host
libraries' registries.
"""
from . import compat

compat.apply_all()

from . import datasets, hooks, models, tuning  # noqa: E402,F401  (registration)
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'compat', 'datasets', 'hooks', 'models', 'tuning']
