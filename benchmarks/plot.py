"""The benchmark as a chart: each method's training step time and peak memory relative to Full.

``python benchmarks/bench_tuning.py --plot FILE`` draws the rows of
:func:`benchmarks.tuning_cost.compare_training` of every task it ran: two panels (step time,
memory), one group of bars per method, one bar per task, and the line of Full at 1.
"""
from typing import Dict, List, Sequence

from matplotlib.figure import Figure

#: (row key, panel title) of the two panels
PANELS = (('step_ratio', 'training step time'), ('memory_ratio', 'peak memory'))


def _methods(results: Dict[str, List[dict]]) -> List[str]:
    """Every method of any task, in the order the rows first list them."""
    seen: List[str] = []
    for rows in results.values():
        seen += [r['method'] for r in rows if r['method'] not in seen]
    return seen


def plot_training(results: Dict[str, Sequence[dict]], path: str, subtitle: str = '') -> Figure:
    """Write the chart of the training rows as an image file (format from the suffix).

    Args:
        results: Task name -> its rows (``method``, ``step_ratio``, ``memory_ratio``, as
            ``compare_training`` returns them), in the order to draw.
        path: Image file to write, e.g. ``bench.png``.
        subtitle: A line under the title (the setting: input size, batch, device).

    Returns:
        The figure (its axes hold one bar container per task, for inspection).
    """
    if not results or not any(results.values()):
        raise ValueError('Nothing to plot: no training rows.')
    methods = _methods(results)
    tasks = list(results)
    width = 0.8 / len(tasks)
    fig = Figure(figsize=(8.5, 3.4), dpi=90)
    axes = fig.subplots(1, 2)
    for ax, (key, title) in zip(axes, PANELS):
        for i, task in enumerate(tasks):
            ratio = {r['method']: r[key] for r in results[task]}
            offset = (i - (len(tasks) - 1) / 2) * width
            ax.bar([j + offset for j in range(len(methods))],
                   [ratio.get(m, float('nan')) for m in methods], width, label=task)
        ax.axhline(1.0, color='black', linewidth=0.8, linestyle='--')
        ax.set_xticks(range(len(methods)), methods, rotation=40, ha='right', fontsize=8)
        ax.set_ylabel('relative to Full', fontsize=8)
        ax.tick_params(axis='y', labelsize=8)
        ax.set_title(title, fontsize=10)
        ax.grid(axis='y', linewidth=0.3)
    fig.suptitle(f'Cost of each tuning method relative to Full\n{subtitle}'.strip(), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='upper left', ncol=1, fontsize=7, frameon=False)
    fig.savefig(path)
    return fig
