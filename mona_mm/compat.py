"""Compatibility shims: the OpenMMLab 2.0 stack on a current PyTorch and Python.

The stack is stale (mmcv 2.1.0, mmengine 0.10.7, mmdet 3.3.0, mmseg 1.2.2, mmrotate 1.0.0rc1 of
2022) and a few things break on Python >= 3.10 and torch >= 2.6 (../shared/docs/STACK.md). Every
workaround lives here, each with its reason and a test in tests/test_compat.py. None patches an
installed file; all are idempotent and applied by ``import mona_mm`` (:func:`apply_all`).
"""
import collections
import collections.abc
import contextlib
import importlib
import importlib.util
from multiprocessing.pool import ThreadPool
from typing import Iterator, List, Optional

import torch

_ABC_ALIASES = ('Sequence', 'Mapping', 'MutableMapping', 'Iterable', 'Callable')


def alias_collections_abc() -> List[str]:
    """Python >= 3.10 removed ``collections.Sequence`` & co.

    mmrotate 1.0.0rc1 does ``from collections import Sequence``
    (mmrotate/models/detectors/refine_single_stage.py), which raises ImportError. We put the
    ``collections.abc`` classes back under their old names (only where they are absent).

    Returns:
        The names that were added.
    """
    added = []
    for name in _ABC_ALIASES:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
            added.append(name)
    return added


@contextlib.contextmanager
def mmdet_version_presented_as(version: str) -> Iterator[None]:
    """Temporarily present ``mmdet.__version__`` as ``version``, then restore it.

    mmrotate 1.0.0rc1's ``__init__`` asserts ``mmdet <= 3.1.0``, but mmdet 3.1.0 needs
    mmcv < 2.1.0, and mmcv 2.0.x does not compile against a current torch (C++14 vs the C++17
    torch headers): unsatisfiable as released. mmrotate runs with mmdet 3.3.0 (Oriented R-CNN
    builds, trains and predicts), so we let only its import-time check see an older version.
    """
    import mmdet
    real = mmdet.__version__
    mmdet.__version__ = version
    try:
        yield
    finally:
        mmdet.__version__ = real


def import_mmrotate():
    """Import mmrotate 1.0.0rc1 on our stack (both shims above), or return None if absent."""
    if importlib.util.find_spec('mmrotate') is None:
        return None
    alias_collections_abc()
    import sys
    if 'mmrotate' in sys.modules:
        return sys.modules['mmrotate']
    with mmdet_version_presented_as('3.1.0'):
        return importlib.import_module('mmrotate')


class ThreadPoolContext:
    """A stand-in for a ``multiprocessing`` context whose ``Pool`` is a thread pool."""

    @staticmethod
    def Pool(processes: Optional[int] = None) -> ThreadPool:  # noqa: N802 (multiprocessing's name)
        return ThreadPool(processes)


def dota_map_in_threads() -> bool:
    """Compute mmrotate's DOTA mAP in threads instead of freshly spawned interpreters.

    mmrotate 1.0.0rc1's ``eval_rbbox_map`` (behind ``DOTAMetric``) opens
    ``multiprocessing.get_context('spawn').Pool(4)`` at every evaluation. A spawned worker is a
    new interpreter that unpickles ``tpfp_default`` and so imports mmrotate *without* our import
    shims, unless the main script happens to import mona_mm itself: from pytest, a notebook or
    any script that loads mona_mm later (``custom_imports``), every worker dies on mmrotate's
    mmdet version assertion, the pool keeps replacing them and the evaluation hangs for ever.
    Where it works (our tools/train.py imports mona_mm), the four workers re-import torch, mmcv,
    mmdet and mmrotate first: about 20 s per evaluation on 2 cores, for milliseconds of work on
    a small set. Threads share the loaded, shimmed modules and run the same per-image TP/FP
    function (numpy and mmcv's ``box_iou_rotated``) over the same inputs, and ``starmap`` keeps
    their order, so the mAP is identical. We give that module a context whose ``Pool`` is a
    thread pool; nothing else in mmrotate uses it. The price is the GIL: about 3.5 s per 1,000
    patches of 30 objects and 15 classes (measured on 2 cores), so about a minute for a full
    DOTA trainval evaluation, where four processes on four free cores would be faster.

    Returns:
        False when mmrotate is not installed, True otherwise.
    """
    if import_mmrotate() is None:
        return False
    from mmrotate.evaluation.functional import mean_ap
    mean_ap.get_context = lambda method=None: ThreadPoolContext()
    return True


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
    than turning the safety check off, we allow exactly these types.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    numpy_core = np._core if hasattr(np, '_core') else np.core
    allowed = [
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


def apply_all() -> None:
    """Apply every shim (called once by ``import mona_mm``)."""
    alias_collections_abc()
    allow_mmengine_checkpoints()
    import_mmrotate()
    dota_map_in_threads()
