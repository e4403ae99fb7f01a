"""The training-curve plot of a work dir's json log (a real one, written by mmengine's
LoggerHook for a small model) and the benchmark chart: PNGs whose lines and bars carry the
logged and measured values."""
import os.path as osp
import runpy
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from PIL import Image

from benchmarks.plot import plot_training
from mona_mm.utils.training_log import find_json_log, load_json_log, plot_log
from tests.helpers import ROOT

PLOT_TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'plot_logs.py')


class Line(BaseModel):
    """y = w x + b against y = 2 x: a loss with two parts that goes down."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(1, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs)
        error = self.fc(x) - 2 * x
        if mode == 'loss':
            return {'loss_sq': error.pow(2).mean(), 'loss_abs': error.abs().mean()}
        return [dict(error=float(e)) for e in error.abs()]


class MeanError(BaseMetric):
    default_prefix = 'line'

    def process(self, data_batch, data_samples) -> None:
        self.results += [s['error'] for s in data_samples]

    def compute_metrics(self, results) -> dict:
        return {'mAP': 1 / (1 + sum(results) / len(results))}  # named as a headline metric


@pytest.fixture(scope='module')
def work_dir(tmp_path_factory):
    """A work dir of 3 epochs of 4 iterations, validated after each epoch."""
    root = tmp_path_factory.mktemp('log_plot')
    data = [dict(inputs=torch.tensor([i / 8]), data_samples=None) for i in range(8)]
    loader = dict(dataset=data, batch_size=2, sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='pseudo_collate'))
    Runner(model=Line(), work_dir=str(root), train_dataloader=loader, val_dataloader=loader,
           train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1), val_cfg=dict(),
           val_evaluator=dict(type=MeanError),
           optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
           default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                              checkpoint=dict(type='CheckpointHook', interval=100)),
           default_scope='mmengine').train()
    return root


def test_log_plot_draws_the_logged_values(work_dir, tmp_path):
    log = find_json_log(str(work_dir))
    train, val = load_json_log(log)
    assert len(train) == 12 and len(val) == 3
    out = tmp_path / 'curves.png'
    fig = plot_log(str(work_dir), str(out))
    assert Image.open(out).format == 'PNG'
    train_ax, val_ax = fig.axes
    lines = {line.get_label(): line for line in train_ax.get_lines()}
    assert sorted(lines) == ['loss', 'loss_abs', 'loss_sq']  # the sum and its parts
    assert list(lines['loss'].get_xdata()) == list(range(1, 13))  # the global iteration
    assert list(lines['loss'].get_ydata()) == pytest.approx([r['loss'] for r in train])
    [metric] = val_ax.get_lines()
    assert metric.get_label() == 'line/mAP' and val_ax.get_xlabel() == 'epoch'
    assert list(metric.get_xdata()) == [1, 2, 3]
    assert list(metric.get_ydata()) == pytest.approx([r['line/mAP'] for r in val])


def test_log_plot_tool(work_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / 'loss.png'
    monkeypatch.setattr(sys, 'argv', [PLOT_TOOL, str(work_dir), '--keys', 'loss_sq', '--out',
                                      str(out)])
    runpy.run_path(PLOT_TOOL, run_name='__main__')
    assert Image.open(out).format == 'PNG'
    assert f'-> {out}' in capsys.readouterr().out
    monkeypatch.setattr(sys, 'argv', [PLOT_TOOL, str(work_dir), '--keys', 'coco/bbox_mAP'])
    with pytest.raises(SystemExit):
        runpy.run_path(PLOT_TOOL, run_name='__main__')
    err = capsys.readouterr().err
    assert "no values for ['coco/bbox_mAP']" in err and 'line/mAP' in err and 'loss_sq' in err
    monkeypatch.setattr(sys, 'argv', [PLOT_TOOL, str(tmp_path)])
    with pytest.raises(SystemExit):
        runpy.run_path(PLOT_TOOL, run_name='__main__')
    assert 'No json log in' in capsys.readouterr().err


def test_benchmark_chart_has_a_bar_per_method_and_task(tmp_path):
    rows = {task: [dict(method=m, step_ratio=s, memory_ratio=r)
                   for m, s, r in [('Full', 1.0, 1.0), ('Mona', 0.7 + k, 0.6 + k),
                                   ('Mona+cp', 1.1 + k, 0.3 + k)]]
            for k, task in ((0.0, 'backbone'), (0.2, 'mask-rcnn'))}
    out = tmp_path / 'bench.png'
    fig = plot_training(rows, str(out), 'Swin-T, 64x64, batch 2')
    assert Image.open(out).format == 'PNG'
    for ax, key in zip(fig.axes, ('step_ratio', 'memory_ratio')):
        assert [t.get_text() for t in ax.get_xticklabels()] == ['Full', 'Mona', 'Mona+cp']
        for container, task in zip(ax.containers, rows):
            assert container.get_label() == task
            assert [bar.get_height() for bar in container] == \
                pytest.approx([r[key] for r in rows[task]])
    with pytest.raises(ValueError, match='Nothing to plot'):
        plot_training({}, str(out))
