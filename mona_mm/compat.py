"""Compatibility shims: the OpenMMLab 2.0 stack on a current PyTorch.

The stack is stale (mmcv 2.1.0, mmengine 0.10.7, mmdet 3.3.0, mmseg 1.2.2, mmrotate 1.0.0rc1 of
2022) and a few things break on Python >= 3.10 and torch >= 2.6 (docs/install.md). The shims every
host needs live here and are applied by ``import mona_mm`` (:func:`apply_all`); those only
rotated detection needs live in :mod:`mona_mm.rotate.compat` and are applied by importing
``mona_mm.rotate``. Each has its reason and a test in tests/test_compat.py. None patches an
installed file; all are idempotent.
"""
import argparse
import collections

import torch


def history_buffer_without_bound_methods() -> None:
    """Pickle mmengine's ``HistoryBuffer`` without its statistics functions.

    ``HistoryBuffer.__getstate__`` (mmengine 0.10.7) stores the class-level table of statistics
    functions, which pickles as ``getattr(HistoryBuffer, 'min')``; torch's weights-only unpickler
    rightly refuses ``getattr``. The table is rebuilt from the class on load anyway
    (``__setstate__`` calls ``_set_default_statistics``), so we leave it out of the pickle.
    Checkpoints written before this shim still hold it and need ``weights_only=False``.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != 'statistics_methods'}

    HistoryBuffer.__getstate__ = __getstate__


def mmengine_checkpoint_safe_globals() -> list:
    """The non-tensor types that mmengine writes into its checkpoints.

    Since torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and refuses to unpickle
    anything but tensors and plain containers. mmengine 0.10.7 (whose ``torch.load`` calls pass
    no ``weights_only``) stores ``HistoryBuffer`` objects with numpy arrays in ``message_hub``,
    numpy scalars in ``meta`` and a ``collections.Counter`` in the MultiStepLR state, so
    ``--resume`` and ``load_from`` of its own checkpoints fail with ``UnpicklingError``. Rather
    than turning the safety check off, we allow exactly these types, and ``argparse.Namespace``,
    which the training scripts of DeiT and MAE save under ``args`` (an attribute bag: unpickling
    it sets attributes, it runs no code of the file's choosing).
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    numpy_core = np._core if hasattr(np, '_core') else np.core
    allowed = [
        argparse.Namespace,
        HistoryBuffer,
        collections.Counter,
        collections.OrderedDict,
        collections.defaultdict,
        np.ndarray,
        np.dtype,
        numpy_core.multiarray._reconstruct,
        numpy_core.multiarray.scalar,
    ]
    # numpy >= 1.25 pickles dtypes as instances of numpy.dtypes.<Name>DType classes
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return allowed


def allow_mmengine_checkpoints() -> bool:
    """Register :func:`mmengine_checkpoint_safe_globals` with torch's weights-only unpickler.

    Returns:
        False on a torch without ``add_safe_globals`` (< 2.4: nothing to do there, since
        ``weights_only`` defaulted to False), True otherwise.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    history_buffer_without_bound_methods()
    add(mmengine_checkpoint_safe_globals())
    return True


#: scope -> (upstream distribution, the OneDL fork's distribution) of the ``scope::`` bases
FORK_DISTRIBUTIONS = {
    'mmdet': ('mmdet', 'onedl-mmdetection'),
    'mmseg': ('mmsegmentation', 'onedl-mmsegmentation'),
    'mmrotate': ('mmrotate', 'onedl-mmrotate'),
}


def resolve_fork_config_scopes() -> list:
    """Let ``mmseg::`` (and ``mmdet::``, ``mmrotate::``) base configs resolve on the OneDL fork.

    mmengine maps a config scope to its distribution name (``MODULE2PACKAGE['mmseg'] =
    'mmsegmentation'``) and looks that distribution up; the fork installs the same modules under
    other distribution names (``onedl-mmsegmentation``), so ``mmseg::`` bases failed with
    "mmsegmentation is not installed". Where the upstream distribution is absent and the fork's
    is present (probed, not assumed from a version), the scope is pointed at the fork's.

    Returns:
        The scopes re-pointed (none on the upstream stack).
    """
    from importlib import metadata

    from mmengine.config import utils

    def installed(name: str) -> bool:
        try:
            metadata.distribution(name)
            return True
        except metadata.PackageNotFoundError:
            return False

    changed = []
    for scope, (upstream, fork) in FORK_DISTRIBUTIONS.items():
        if utils.MODULE2PACKAGE.get(scope) == upstream and not installed(upstream) and \
                installed(fork):
            utils.MODULE2PACKAGE[scope] = fork
            changed.append(scope)
    return changed


def keep_safe_globals_after_mmengine_loads() -> bool:
    """Keep :func:`allow_mmengine_checkpoints`'s registration after mmengine's own loads.

    mmengine 0.10.12 (the OneDL fork) loads each checkpoint inside
    ``torch.serialization.safe_globals(its list)``, and that context removes every listed global
    when it exits, including those registered before it (numpy's ``_reconstruct``,
    ``ndarray``, ``HistoryBuffer``): after any mmengine load, a plain ``torch.load`` of an
    mmengine checkpoint failed (18 tests on the fork). Here the registration is renewed after each
    of its loads. Applies only where mmengine has that loader (probed).

    Returns:
        True where it applies.
    """
    from mmengine.runner import checkpoint
    original = getattr(checkpoint, '_safe_torch_load', None)
    if original is None or getattr(original, 'keeps_safe_globals', False):
        return original is not None

    def _safe_torch_load(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        finally:
            allow_mmengine_checkpoints()

    _safe_torch_load.keeps_safe_globals = True
    checkpoint._safe_torch_load = _safe_torch_load
    return True


def apply_all() -> None:
    """Apply the shims every host needs (called once by ``import mona_mm``)."""
    allow_mmengine_checkpoints()
    keep_safe_globals_after_mmengine_loads()
    resolve_fork_config_scopes()
