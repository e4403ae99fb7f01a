"""Where mona_mm's configs are, for projects that inherit them.

An installed package (``pip install .``, a wheel) carries them as ``mona_mm/.mim/configs``
(OpenMMLab's place for a package's configs; setup.py copies them there); a source checkout
(editable install) has them in ``configs/`` beside the package. A downstream config inherits one
with::

    _base_ = [__import__('mona_mm').config_path(
        'coco/cascade-mask-rcnn_swin-b-mona_16xb1-3x_coco.py')]

(mmengine evaluates ``_base_`` alone, before the rest of the file runs, so the import must be in
the expression).
"""
import difflib
import os
import os.path as osp

PACKAGE_DIR = osp.dirname(osp.abspath(__file__))
#: where the configs are looked for, in order: inside an installed package, in a source checkout
CONFIG_ROOTS = (osp.join(PACKAGE_DIR, '.mim', 'configs'),
                osp.join(osp.dirname(PACKAGE_DIR), 'configs'))


def configs_root() -> str:
    """The folder of mona_mm's configs (``coco/``, ``tiny/``, ``_base_/``, ...).

    Raises:
        FileNotFoundError: neither an installed package's nor a checkout's configs exist.
    """
    for root in CONFIG_ROOTS:
        if osp.isdir(root):
            return root
    raise FileNotFoundError(f'mona_mm at {PACKAGE_DIR} has no configs (looked in '
                            f'{", ".join(CONFIG_ROOTS)}); install it with `pip install .` from '
                            'a source checkout, or use the checkout itself.')


def config_path(name: str = '') -> str:
    """The absolute path of a config of mona_mm, e.g. ``'tiny/upernet_swin-mona_tiny-ade20k.py'``.

    Args:
        name: Path relative to the configs folder, ``/``-separated; empty for the folder itself.

    Raises:
        FileNotFoundError: no such config (the message names close matches).
    """
    root = configs_root()
    path = osp.join(root, *name.split('/')) if name else root
    if osp.exists(path):
        return path
    known = [osp.relpath(osp.join(d, f), root).replace(os.sep, '/')
             for d, _, files in os.walk(root) for f in files if f.endswith('.py')]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f'; did you mean {", ".join(close)}?' if close else '.'
    raise FileNotFoundError(f'mona_mm has no config {name!r} in {root}{hint}')
