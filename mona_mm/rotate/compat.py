"""Shims that rotated detection needs: mmrotate 1.0.0rc1 (2022) on Python >= 3.10 and mmdet 3.3.

Applied by importing :mod:`mona_mm.rotate` (our tools do it for configs whose ``default_scope`` is
``mmrotate``), not by ``import mona_mm``: detection and segmentation users get none of these
patches, and need not have mmrotate installed. Each has its reason and a test in
tests/test_compat.py; none patches an installed file; all are idempotent.
"""
import collections
import collections.abc
import contextlib
import importlib
import importlib.util
import sys
from multiprocessing.pool import ThreadPool
from typing import Iterator, List, Optional

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


def apply_all() -> bool:
    """Import mmrotate with the shims and run its DOTA mAP in threads.

    Returns:
        False when mmrotate is not installed, True otherwise.
    """
    return dota_map_in_threads()
