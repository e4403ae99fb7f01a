"""Before a run: the datasets' classes, the heads' ``num_classes``, the evaluators' ground truth
and (at test time) the checkpoint's ``dataset_meta`` agree, or one message names both sides and
the key to set.

What goes wrong otherwise, on one's own data (issue: "your own data, right the first time"):

* a head whose ``num_classes`` is not the number of the dataset's classes trains the whole run
  and then fails in the evaluation (``IndexError: list index out of range`` in CocoMetric), or
  trains a head with outputs no label ever reaches;
* a ``val_dataloader`` replaced for one's own data, with ``test_dataloader = val_dataloader`` in
  the base config read before the change, leaves ``tools/test.py`` on the base's set: a 2-class
  model scored on a 3-class set, exit 0;
* a checkpoint trained on one set of classes, evaluated on a dataset of others;
* a COCO evaluator whose ``ann_file`` is not the test dataset's file scores the predictions
  against another set's ground truth.

The classes of a dataset config are its ``metainfo['classes']``, else its class's ``METAINFO``
(looked up in the host library's registry without building anything); wrappers
(``RepeatDataset``, ``ClassBalancedDataset``, ``ConcatDataset``, ...) are looked through. The
heads are every dict of ``model`` with an integer ``num_classes`` but region-proposal and
semantic-stuff heads, whose class counts are their own. A config can turn the head check off
with ``check_num_classes = False`` (a head with another number of classes on purpose).
"""
import os.path as osp
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

#: head types whose ``num_classes`` is not the dataset's (RPN: 1; HTC's stuff head: 183)
_OWN_COUNT = ('RPN', 'Semantic', 'Stuff')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


class ClassMismatchError(ValueError):
    """The datasets, heads, evaluators or checkpoint of a run disagree; the message names both
    sides and the key to set."""


def dataset_configs(dataset: dict, path: str) -> Iterator[Tuple[str, dict]]:
    """The leaf dataset configs of a (possibly wrapped) dataset config, with their paths."""
    if not isinstance(dataset, dict):
        return
    if isinstance(dataset.get('dataset'), dict):
        yield from dataset_configs(dataset['dataset'], f'{path}.dataset')
    elif isinstance(dataset.get('datasets'), (list, tuple)):
        for i, child in enumerate(dataset['datasets']):
            yield from dataset_configs(child, f'{path}.datasets[{i}]')
    else:
        yield path, dataset


def dataset_classes(dataset: dict, get_class: Callable[[str], Optional[type]]
                    ) -> Optional[Tuple[str, ...]]:
    """The classes of one leaf dataset config, or None when they cannot be told before building
    it (a type the registry does not know, classes read from a file)."""
    meta = dataset.get('metainfo') or {}
    if meta.get('classes') is not None:
        classes = meta['classes']
        return (classes, ) if isinstance(classes, str) else tuple(classes)
    dataset_type = dataset.get('type')
    cls = get_class(dataset_type) if isinstance(dataset_type, str) else dataset_type
    classes = getattr(cls, 'METAINFO', {}).get('classes') if cls is not None else None
    return tuple(classes) if classes is not None else None


def head_num_classes(model: dict, path: str = 'model') -> List[Tuple[str, int]]:
    """``(key, num_classes)`` of every head of the model config that predicts the dataset's
    classes."""
    found = []
    if isinstance(model, dict):
        head_type = str(model.get('type', ''))
        if isinstance(model.get('num_classes'), int) and not any(
                word in head_type for word in _OWN_COUNT):
            found.append((f'{path}.num_classes', model['num_classes']))
        for key, value in model.items():
            if key not in ('train_cfg', 'test_cfg', 'data_preprocessor'):
                found += head_num_classes(value, f'{path}.{key}')
    elif isinstance(model, (list, tuple)):
        for i, value in enumerate(model):
            found += head_num_classes(value, f'{path}[{i}]')
    return found


def _short(classes: Sequence[str], limit: int = 8) -> str:
    shown = ', '.join(repr(c) for c in list(classes)[:limit])
    return f'{len(classes)} classes ({shown}{", ..." if len(classes) > limit else ""})'


def loader_classes(cfg, loaders: Sequence[str], get_class) -> List[Tuple[str, Tuple[str, ...]]]:
    """``(key, classes)`` of the leaf datasets of the given dataloaders (those that can be told)."""
    out = []
    for loader in loaders:
        section = cfg.get(loader)
        if not isinstance(section, dict) or not isinstance(section.get('dataset'), dict):
            continue
        for path, dataset in dataset_configs(section['dataset'], f'{loader}.dataset'):
            classes = dataset_classes(dataset, get_class)
            if classes is not None:
                out.append((path, classes))
    return out


def check_classes(cfg, loaders: Sequence[str], get_class) -> None:
    """The datasets of ``loaders`` have the same classes, and every head predicts that many.

    Raises:
        ClassMismatchError: naming the datasets or heads that differ and the key to set.
    """
    found = loader_classes(cfg, loaders, get_class)
    if not found:
        return
    first_path, classes = found[0]
    for path, other in found[1:]:
        if other != classes:
            raise ClassMismatchError(
                f'{path} has {_short(other)}, but {first_path} has {_short(classes)}: the model '
                f'is trained and evaluated on one set of classes. Set the same '
                f'metainfo=dict(classes=...) on the dataset of every dataloader (a base config '
                f'that says test_dataloader = val_dataloader copied the old one: set '
                f'test_dataloader again after changing val_dataloader).')
    if cfg.get('check_num_classes', True) is False:
        return
    wrong = [(key, n) for key, n in head_num_classes(cfg.get('model', {})) if n != len(classes)]
    if wrong:
        keys = ', '.join(f'{key} = {n}' for key, n in wrong)
        raise ClassMismatchError(
            f'{keys}, but the dataset ({first_path}) has {_short(classes)}. Set '
            f'{", ".join(key for key, _ in wrong)} to {len(classes)} (or the dataset\'s '
            f'metainfo=dict(classes=...) to the classes the heads predict). A head that has '
            f'another number of classes on purpose: check_num_classes = False in the config.')


def check_checkpoint_classes(cfg, checkpoint: dict, checkpoint_path: str, get_class) -> None:
    """At test time: the classes the checkpoint was trained on (its ``meta.dataset_meta``, as
    mmengine saves it) are the test dataset's.

    Raises:
        ClassMismatchError: naming both lists and the key to set.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    trained = ((meta or {}).get('dataset_meta') or {}).get('classes')
    tested = loader_classes(cfg, ['test_dataloader'], get_class)
    if trained is None or not tested:
        return
    trained = (trained, ) if isinstance(trained, str) else tuple(trained)
    path, classes = tested[0]
    if trained != classes:
        raise ClassMismatchError(
            f'The checkpoint {checkpoint_path} was trained on {_short(trained)}, but {path} has '
            f'{_short(classes)}: its scores would be read as the wrong classes. Test it on its '
            f"own data, with metainfo=dict(classes=...) on the test dataset set to the "
            f'checkpoint\'s classes.')


def _evaluator_ann_files(cfg, evaluator_key: str) -> List[Tuple[str, str]]:
    section = cfg.get(evaluator_key)
    items = section if isinstance(section, (list, tuple)) else [section]
    return [(f'{evaluator_key}' + (f'[{i}]' if isinstance(section, (list, tuple)) else ''),
             item['ann_file']) for i, item in enumerate(items)
            if isinstance(item, dict) and isinstance(item.get('ann_file'), str)]


def _dataset_ann_file(dataset: dict) -> Optional[str]:
    ann_file = dataset.get('ann_file')
    if not isinstance(ann_file, str) or not ann_file:
        return None
    root = dataset.get('data_root') or ''
    return osp.normpath(ann_file if osp.isabs(ann_file) else osp.join(root, ann_file))


def check_evaluator_ground_truth(cfg, mode: str) -> None:
    """An evaluator with its own ``ann_file`` (COCO's) reads the ground truth of its loader's
    dataset.

    Raises:
        ClassMismatchError: naming the evaluator's file and the dataset's.
    """
    pairs = [('val_evaluator', 'val_dataloader')] if mode == 'train' else [
        ('test_evaluator', 'test_dataloader')]
    for evaluator, loader in pairs:
        section = cfg.get(loader)
        if not isinstance(section, dict) or not isinstance(section.get('dataset'), dict):
            continue
        leaves = list(dataset_configs(section['dataset'], f'{loader}.dataset'))
        files = {_dataset_ann_file(d) for _, d in leaves} - {None}
        if len(leaves) != 1 or len(files) != 1:
            continue
        dataset_file = files.pop()
        for key, ann_file in _evaluator_ann_files(cfg, evaluator):
            if osp.normpath(ann_file) != dataset_file:
                raise ClassMismatchError(
                    f'{key}.ann_file is {ann_file}, but {leaves[0][0]} reads {dataset_file}: '
                    f'the predictions would be scored against another set\'s ground truth. Set '
                    f'{key}.ann_file={dataset_file} (a base config built it from its own '
                    f'data_root: --cfg-options data_root=DIR moves both).')


def describe_test_loader(cfg, get_class) -> List[str]:
    """Lines for the start of tools/test.py: how ``test_dataloader`` differs from
    ``val_dataloader`` (data root, annotation file, classes), or nothing when they agree."""
    val, test = cfg.get('val_dataloader'), cfg.get('test_dataloader')
    if not (isinstance(val, dict) and isinstance(test, dict)) or val == test:
        return []
    val_sets = list(dataset_configs(val.get('dataset') or {}, 'val_dataloader.dataset'))
    test_sets = list(dataset_configs(test.get('dataset') or {}, 'test_dataloader.dataset'))
    if len(val_sets) != 1 or len(test_sets) != 1:
        return []
    (_, v), (_, t) = val_sets[0], test_sets[0]
    lines = []
    for key in ('data_root', 'ann_file'):
        if v.get(key) != t.get(key):
            lines.append(f'test_dataloader.dataset.{key} = {t.get(key)!r} differs from '
                         f'val_dataloader.dataset.{key} = {v.get(key)!r}; tools/test.py '
                         f'evaluates the test_dataloader.')
    vc, tc = dataset_classes(v, get_class), dataset_classes(t, get_class)
    if vc is not None and tc is not None and vc != tc:
        lines.append(f'test_dataloader has {_short(tc)}, val_dataloader {_short(vc)}.')
    return lines
