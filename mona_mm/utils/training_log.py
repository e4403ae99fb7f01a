"""Training curves from a work dir's json log (what the host libraries' ``analyze_logs.py`` plot).

mmengine's ``LoggerHook`` writes one json object per line to
``WORK_DIR/TIMESTAMP/vis_data/TIMESTAMP.json``: training lines (every ``logger.interval``
iterations: ``lr``, ``loss``, ``loss_*``, ``time``, ``epoch``/``iter``, ``step`` = the global
iteration) and validation lines (the metrics, ``step`` = the epoch of an epoch-based schedule,
the iteration of an iteration-based one). ``tools/analysis_tools/plot_logs.py`` is the command.
"""
import glob
import json
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

#: bookkeeping fields of a log line, never plotted by default
META_KEYS = {'step', 'epoch', 'iter', 'lr', 'base_lr', 'time', 'data_time', 'memory'}
#: the headline metric of each host's evaluators: COCO bbox/segm mAP, VOC/DOTA mAP, mIoU
HEADLINE = re.compile(r'(^|/)((bbox_|segm_)?mAP|mIoU)$')


def find_json_log(path: str) -> str:
    """The json log of ``path``: the file itself, or the newest training log of a work dir
    (``*/vis_data/*.json``) or of one run (``vis_data/*.json``).

    Raises:
        FileNotFoundError: no json log there.
    """
    if osp.isfile(path):
        return path
    logs = [p for pattern in ('*/vis_data/*.json', 'vis_data/*.json')
            for p in glob.glob(osp.join(path, pattern)) if osp.basename(p) != 'scalars.json']
    if not logs:
        raise FileNotFoundError(f'No json log in {path}: expected WORK_DIR/TIMESTAMP/vis_data/'
                                'TIMESTAMP.json, which tools/train.py writes.')
    return max(logs, key=lambda p: osp.basename(p))  # timestamps sort as text


def load_json_log(path: str) -> Tuple[List[dict], List[dict]]:
    """The training and validation lines of a json log (training lines carry ``lr``)."""
    train, val = [], []
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                (train if 'lr' in record else val).append(record)
    return train, val


def default_keys(train: Sequence[dict], val: Sequence[dict]) -> List[str]:
    """``loss``, its parts, and the headline validation metrics found in the log."""
    keys: List[str] = []
    for records, wanted in ((train, lambda k: k.startswith('loss')),
                            (val, lambda k: bool(HEADLINE.search(k)))):
        for record in records:
            keys += [k for k in record if wanted(k) and k not in keys]
    return keys


def plot_log(path: str, out: str, keys: Optional[Sequence[str]] = None,
             title: Optional[str] = None) -> Figure:
    """Plot a json log: training keys against the iteration, validation keys against the
    epoch (or iteration), one panel each, and write the figure to ``out``.

    Args:
        path: A json log or a work dir (:func:`find_json_log`).
        out: Image file to write (format from the suffix, e.g. ``curves.png``).
        keys: What to plot (default :func:`default_keys`); a key found in neither training nor
            validation lines is an error.
        title: Figure title (default: the log's path).

    Returns:
        The figure, one axes per panel (training panel first).
    """
    log = find_json_log(path)
    train, val = load_json_log(log)
    keys = list(keys) if keys else default_keys(train, val)
    train_keys = [k for k in keys if any(k in r for r in train)]
    val_keys = [k for k in keys if k not in train_keys and any(k in r for r in val)]
    unknown = sorted(set(keys) - set(train_keys) - set(val_keys))
    if unknown or not keys:
        found = sorted({k for r in train + val for k in r} - META_KEYS)
        raise KeyError(f'{log}: no values for {unknown or "any key"}; the log has {found}.')
    panels: Dict[str, List[str]] = {}
    if train_keys:
        panels['iteration'] = train_keys
    if val_keys:
        panels['epoch' if any('epoch' in r for r in train) else 'iteration (validation)'] = \
            val_keys
    fig = Figure(figsize=(4.2 * len(panels), 3.2), dpi=90)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (xlabel, panel_keys) in zip(axes, panels.items()):
        records = train if panel_keys is train_keys else val
        for key in panel_keys:
            points = [(r['step'], r[key]) for r in records if key in r]
            ax.plot(*zip(*points), marker='' if len(points) > 20 else 'o', markersize=3,
                    linewidth=1, label=key)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # iterations and epochs
        ax.set_title('training' if panel_keys is train_keys else 'validation', fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(linewidth=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title or log, fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    return fig
