"""Top-level convenience keys of a config (``data_root``, ``pretrained``) that apply where they are
meant to, or fail naming the keys that hold the values.

mmengine reads a config file as Python: ``data_root = 'data/coco/'`` at the top and
``dataset=dict(data_root=data_root)`` below copy the string when the file is read. A later
``--cfg-options data_root=DIR``, or a ``data_root = DIR`` line in a config that inherits this
one, changes the top-level key, which the printed config then shows, but none of the copies: the
run still reads the old folder. The same holds for ``pretrained`` and
``model.backbone.init_cfg.checkpoint``. Here, before anything is built:

* ``--cfg-options data_root=DIR`` (or ``pretrained=PATH``) replaces the config's value in every
  key that was derived from it (the dataloaders' ``data_root`` and, by prefix, the evaluators'
  ``ann_file``; for ``pretrained`` the ``Pretrained`` ``init_cfg`` checkpoints and mmseg's
  ``model.pretrained``), and the log lists them;
* a top-level ``data_root`` / ``pretrained`` that the user's own config file sets, but that no
  key uses, is applied the same way to the keys that hold the inherited value when they all hold
  one value; when they hold several, the run stops naming them;
* an inherited top-level value that no key uses (the user set the real keys) is shown as the
  value the run uses, so the printed config never shows a value the run does not use.
"""
import ast
import logging
import os.path as osp
from typing import Any, Dict, Iterator, List, Optional, Tuple

from mmengine.logging import print_log

#: the convenience keys handled here
CONVENIENCE_KEYS = ('data_root', 'pretrained')
#: the config sections whose strings may be derived from ``data_root``
_DATA_SECTIONS = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                  'test_evaluator')

Leaf = Tuple[str, Any, Any]  # (dotted path, parent container, key or index)


class ConfigKeyError(ValueError):
    """A top-level convenience key that cannot be applied; the message names the real keys."""


def _leaves(node: Any, path: str) -> Iterator[Leaf]:
    items = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, list) else ())
    for key, value in items:
        child = f'{path}.{key}' if isinstance(node, dict) else f'{path}[{key}]'
        if isinstance(value, (dict, list)):
            yield from _leaves(value, child)
        else:
            yield child, node, key


def _sections(cfg, key: str) -> List[Tuple[str, Any]]:
    names = _DATA_SECTIONS if key == 'data_root' else ('model', )
    return [(name, cfg[name]) for name in names if isinstance(cfg.get(name), (dict, list))]


def holders(cfg, key: str) -> List[Leaf]:
    """The keys that hold the value a convenience key stands for: every ``data_root`` of the
    dataloaders; every ``Pretrained`` checkpoint and ``pretrained`` of the model."""
    found = []
    for name, section in _sections(cfg, key):
        for path, parent, k in _leaves(section, name):
            if key == 'data_root' and k == 'data_root':
                found.append((path, parent, k))
            elif key == 'pretrained' and (
                    k == 'pretrained' or (k == 'checkpoint' and isinstance(parent, dict)
                                          and parent.get('type') == 'Pretrained')):
                found.append((path, parent, k))
    return [h for h in found if isinstance(h[1][h[2]], str)]


def _derived(cfg, key: str, value: str) -> List[Leaf]:
    """The string leaves that hold ``value`` (``data_root``: also those that start with it)."""
    out = []
    for name, section in _sections(cfg, key):
        for path, parent, k in _leaves(section, name):
            v = parent[k]
            if isinstance(v, str) and (v == value or (key == 'data_root' and value
                                                      and v.startswith(value))):
                out.append((path, parent, k))
    return out


def _replace(leaves: List[Leaf], old: str, new: str) -> List[str]:
    if old.endswith('/') and new and not new.endswith('/'):
        new += '/'  # 'data/coco/' + 'annotations/...' stays a path under the new root
    for _, parent, k in leaves:
        parent[k] = new + parent[k][len(old):]
    return [path for path, _, _ in leaves]


def assigned_in_file(filename: Optional[str], key: str) -> bool:
    """Whether the config file itself (not a base) assigns ``key`` at its top level."""
    if not filename or not osp.isfile(filename):
        return False
    try:
        tree = ast.parse(open(filename, encoding='utf-8').read())
    except (SyntaxError, UnicodeDecodeError):
        return False
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == key for t in targets):
            return True
    return False


def _apply(cfg, key: str, new: str, old: Optional[str], why: str) -> str:
    """Put ``new`` where ``old`` (else the one value all holders share) was; the log line."""
    leaves = _derived(cfg, key, old) if old else []
    if not leaves:
        values = {h[1][h[2]] for h in holders(cfg, key)}
        if len(values) != 1:
            where = ', '.join(f'{p} = {parent[k]!r}' for p, parent, k in holders(cfg, key))
            raise ConfigKeyError(
                f'{why} {key} = {new!r}, but no key of the config was derived from the '
                f'{key} it had ({old!r}), and the keys that hold it have '
                f'{"no value" if not values else "several values"}: {where or "none"}. Set '
                f'those keys instead (e.g. --cfg-options '
                f'{holders(cfg, key)[0][0] if holders(cfg, key) else _hint(key)}={new}).')
        old = values.pop()
        leaves = _derived(cfg, key, old)
    paths = _replace(leaves, old, new)
    return f'{why} {key} = {new!r} applied to {", ".join(paths)} (they held {old!r}).'


def _hint(key: str) -> str:
    return ('train_dataloader.dataset.data_root' if key == 'data_root' else
            'model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint')


def resolve_convenience_keys(cfg, overridden: Dict[str, Optional[str]]) -> List[str]:
    """Make the top-level ``data_root`` and ``pretrained`` of ``cfg`` true (module docstring).

    Args:
        cfg: The merged config (``--cfg-options`` applied).
        overridden: The keys set by ``--cfg-options``, each with the value the config had
            before.

    Returns:
        The log lines (one per key changed).

    Raises:
        ConfigKeyError: a key set by the user that cannot be applied (its message names the keys
            that hold the values, and how to set them).
    """
    lines = []
    for key in CONVENIENCE_KEYS:
        value = cfg.get(key)
        if key in overridden:
            if isinstance(value, str):
                lines.append(_apply(cfg, key, value, overridden[key], '--cfg-options'))
            continue
        if not isinstance(value, str) or _derived(cfg, key, value):
            continue  # absent, or used
        if assigned_in_file(cfg.filename, key):
            lines.append(_apply(cfg, key, value, None, f'{osp.basename(cfg.filename)} sets'))
            continue
        used = sorted({h[1][h[2]] for h in holders(cfg, key)})
        cfg[key] = used[0] if len(used) == 1 else None
        lines.append(f'{key} (inherited, {value!r}) is used by no key of this config; shown as '
                     f'{cfg[key]!r}, the value the run uses.')
    return lines


def log_convenience_keys(lines: List[str]) -> None:
    """Log what :func:`resolve_convenience_keys` did (INFO; the changes are intended)."""
    for line in lines:
        print_log(line, logger='current', level=logging.INFO)


def overridden_keys(cfg, cfg_options: Optional[dict]) -> Dict[str, Optional[str]]:
    """The convenience keys in ``--cfg-options``, each with the config's value before."""
    return {k: cfg.get(k) for k in CONVENIENCE_KEYS if cfg_options and k in cfg_options}
