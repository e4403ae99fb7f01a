"""mona_mm: Mona (CVPR 2025) and the delta-tuning baselines for OpenMMLab 2.0.

``import mona_mm`` (or ``custom_imports=dict(imports=['mona_mm'])`` in a config) applies the
shims every host needs (:mod:`mona_mm.compat`), registers the backbones (``SwinMona``,
``ViTMona``) in mmengine's root ``MODELS`` and the hooks (``DeltaTuningHook``,
``DivergenceHook``, ``SafeCheckpointHook``, ``RNGStateHook``) in its root ``HOOKS``, where
mmdet, mmseg and mmrotate configs all find them, and registers the dataset types of each installed
host among detection and segmentation (:mod:`mona_mm.det`, :mod:`mona_mm.seg`). Rotated
detection is opt-in (:mod:`mona_mm.rotate`, whose shims patch mmrotate's imports), and so is the
generated test data (:mod:`mona_mm.testing`).

Layers: :mod:`mona_mm.layers` (pure PyTorch adapters) < :mod:`mona_mm.tuning` (methods as specs)
< :mod:`mona_mm.models` (backbone families) < hosts, hooks, checkpoints, runner.
"""
import importlib
import importlib.util

from . import compat

compat.apply_all()

from . import hooks, layers, models, tuning  # noqa: E402  (registration)
from .paths import config_path  # noqa: E402  (for configs that inherit ours)
from .version import __version__  # noqa: E402

for _host, _package in (('mmdet', 'det'), ('mmseg', 'seg')):
    if importlib.util.find_spec(_host) is not None:
        importlib.import_module(f'{__name__}.{_package}')

__all__ = ['__version__', 'compat', 'config_path', 'hooks', 'layers', 'models', 'tuning']
