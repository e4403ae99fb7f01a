"""Shims that rotated detection needs: mmrotate 1.0.0rc1 (2022) on Python >= 3.10 and mmdet 3.3.

Applied by importing :mod:`mona_mm.rotate` (our tools do it for configs whose ``default_scope`` is
``mmrotate``), not by ``import mona_mm``: detection and segmentation users get none of these
patches, and need not have mmrotate installed. Each applies only where the installed mmrotate has
the problem, found by reading its source before importing it (the OneDL fork's onedl-mmrotate
1.2.1 has neither import problem). Each has its reason and a test in
tests/test_rotate/test_compat.py; none patches an installed file; all are idempotent.
"""
import collections
import collections.abc
import contextlib
import importlib
import importlib.util
import os
import re
import sys
from multiprocessing.pool import ThreadPool
from typing import Iterable, Iterator, List, Optional

_ABC_ALIASES = ('Sequence', 'Mapping', 'MutableMapping', 'Iterable', 'Callable')


def mmrotate_root() -> Optional[str]:
    """The folder of the installed mmrotate package, found without importing it (or None)."""
    spec = importlib.util.find_spec('mmrotate')
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def collections_names_imported(root: Optional[str]) -> List[str]:
    """The ``collections.abc`` names that a package's modules import from ``collections``.

    Python >= 3.10 removed them from ``collections``; mmrotate 1.0.0rc1 still does
    ``from collections import Sequence`` (models/detectors/refine_single_stage.py).
    """
    found = set()
    if root is None:
        return []
    statement = re.compile(r'^\s*from\s+collections\s+import\s+\(?([^)\n]*)', re.M)
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith('.')]  # .mim: configs and tools
        for name in files:
            if not name.endswith('.py'):
                continue
            with open(os.path.join(folder, name), encoding='utf-8', errors='replace') as f:
                for match in statement.finditer(f.read()):
                    names = (n.split(' as ')[0].strip() for n in match.group(1).split(','))
                    found.update(n for n in names if n in _ABC_ALIASES)
    return sorted(found)


def alias_collections_abc(names: Iterable[str] = _ABC_ALIASES) -> List[str]:
    """Put the ``collections.abc`` classes back under their old names in ``collections``.

    Only where absent; :func:`import_mmrotate` asks for the names mmrotate imports, none on a
    mmrotate that imports none.

    Returns:
        The names that were added.
    """
    added = []
    for name in names:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
            added.append(name)
    return added


def mmdet_cap_of(root: Optional[str]) -> Optional[str]:
    """The newest mmdet version that mmrotate's ``__init__`` asserts, or None where it asserts none.

    mmrotate 1.0.0rc1 asserts ``mmdet <= 3.1.0``; onedl-mmrotate asserts nothing.
    """
    if root is None:
        return None
    try:
        with open(os.path.join(root, '__init__.py'), encoding='utf-8') as f:
            source = f.read()
    except OSError:
        return None
    match = re.search(r'^mmdet_maximum_version\s*=\s*[\'"]([^\'"]+)[\'"]', source, re.M)
    return match.group(1) if match else None


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


def mmdet_presented_version() -> Optional[str]:
    """The version mmrotate's import is shown: its cap where the installed mmdet is newer."""
    cap = mmdet_cap_of(mmrotate_root())
    if cap is None:
        return None
    import mmdet
    from mmengine.utils import digit_version
    return cap if digit_version(mmdet.__version__) > digit_version(cap) else None


def import_mmrotate():
    """Import the installed mmrotate with the shims it needs (above), or return None if absent."""
    root = mmrotate_root()
    if root is None:
        return None
    if 'mmrotate' in sys.modules:
        return sys.modules['mmrotate']
    alias_collections_abc(collections_names_imported(root))
    presented = mmdet_presented_version()
    if presented is None:
        return importlib.import_module('mmrotate')
    with mmdet_version_presented_as(presented):
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
