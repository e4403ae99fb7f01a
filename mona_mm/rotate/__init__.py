"""Rotated detection (mmrotate): the shims mmrotate 1.0.0rc1 needs on our stack, then
``STARDataset`` in mmrotate's registry.

Opt-in: ``custom_imports=dict(imports=['mona_mm.rotate'])`` in a config, or our tools with a config
whose ``default_scope`` is ``mmrotate``. ``import mona_mm`` does not load it, so detection and
segmentation users need no mmrotate and get none of its shims.
"""
from .compat import apply_all, import_mmrotate

if not apply_all():
    raise ImportError('mona_mm.rotate needs mmrotate: pip install mmrotate==1.0.0rc1 e2cnn '
                      '(bash tools/install.sh installs it; see docs/install.md).')

from .checked import CheckedDOTADataset, CheckedSTARDataset  # noqa: E402
from .star import STAR_CLASSES, STAR_PALETTE, STARDataset  # noqa: E402

__all__ = ['CheckedDOTADataset', 'CheckedSTARDataset', 'STAR_CLASSES', 'STAR_PALETTE',
           'STARDataset', 'import_mmrotate']
