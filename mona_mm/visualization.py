"""What the host libraries' ``tools/test.py`` do for ``--show``, ``--show-dir`` and ``--out``.

``tools/test.py`` calls these on the config before :func:`mona_mm.runner.run_test`, so the
drawings and dumps are the host library's own, whatever checkpoint is tested (full, delta or
merged). Per host (the config's ``default_scope``):

* mmdet and mmrotate (whose configs use mmdet's ``DetVisualizationHook``): the hook draws every
  test image, ground truth next to prediction, with the config's visualizer
  (``DetLocalVisualizer``: boxes and masks; ``RotLocalVisualizer``: rotated boxes) into
  ``--show-dir``, which the hook places under ``WORK_DIR/TIMESTAMP/`` unless it is absolute.
  ``--out FILE.pkl`` adds a dump metric to the test evaluator: mmdet's ``DumpDetResults``
  (masks as RLE), and for mmrotate mmengine's ``DumpResults``, as their test tools do.
* mmseg: ``SegVisualizationHook`` draws with ``SegLocalVisualizer`` through the visualizer's
  storage backends, whose folder becomes ``--show-dir``: the drawings land in
  ``DIR/vis_data/vis_image/``. mmseg's hook draws every ``interval``-th image (50 in mmseg's
  runtime config); unless a config sets ``interval``, it is 1 here, so that every image is drawn
  as with the other hosts. ``--out DIR`` makes ``IoUMetric`` keep its results and write each
  prediction as a label PNG into ``DIR``, as mmseg's test tool does.
"""
import os
import sys
from typing import Optional

from mmengine.config import Config, ConfigDict

from mona_mm.runner import SCOPES

#: the dump metric each detection host's test tool appends to the evaluator
DUMP_METRICS = {'mmdet': 'DumpDetResults', 'mmrotate': 'mmengine.DumpResults'}
PICKLE_SUFFIXES = ('.pkl', '.pickle')


def _scope(cfg: Config) -> str:
    scope = cfg.get('default_scope', 'mmdet')
    if scope not in SCOPES:
        raise ValueError(f'default_scope {scope!r}: drawing and dumping are defined for '
                         f'configs of {SCOPES}.')
    return scope


def has_display() -> bool:
    """Whether a window can open (on Linux: an X11 or Wayland display is set)."""
    if not sys.platform.startswith('linux'):
        return True
    return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))


def enable_drawing(cfg: Config,
                   show_dir: Optional[str] = None,
                   show: bool = False,
                   wait_time: float = 2.0) -> Config:
    """Turn on the config's visualization hook for the test run (``--show-dir``, ``--show``).

    Args:
        cfg: The loaded config; changed in place and returned.
        show_dir: Folder for the drawings (see the module docstring for where each host puts
            them).
        show: Show each drawing in a window, ``wait_time`` seconds each.
        wait_time: Seconds each drawing stays on screen with ``show``.

    Raises:
        RuntimeError: the config has no ``default_hooks.visualization`` (the host configs all
            have one), or ``show`` without a display.
    """
    scope = _scope(cfg)
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise RuntimeError('--show/--show-dir need the visualization hook in default_hooks, '
                           "e.g. visualization=dict(type='DetVisualizationHook'); the host "
                           "libraries' default_runtime configs define it.")
    if show and not has_display():
        raise RuntimeError('--show needs a display (DISPLAY or WAYLAND_DISPLAY is not set); '
                           'use --show-dir DIR to write the drawings to files instead.')
    hook['draw'] = True
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        if scope == 'mmseg':
            cfg.visualizer['save_dir'] = show_dir
            hook.setdefault('interval', 1)
        else:
            hook['test_out_dir'] = show_dir
    return cfg


def enable_dump(cfg: Config, out: str) -> Config:
    """Dump the test predictions as the host's test tool does (``--out``).

    Args:
        cfg: The loaded config; changed in place and returned.
        out: mmdet/mmrotate: a ``.pkl`` file (a list with one dict per image: the prediction,
            the image's metadata); mmseg: a folder for one label PNG per image.

    Raises:
        ValueError: a detection ``out`` that is not a pickle file name, or an mmseg config
            whose test evaluator has no ``IoUMetric``.
    """
    scope = _scope(cfg)
    evaluator = cfg.test_evaluator
    # a metric, a list of metrics, or an Evaluator's dict with `metrics` (Runner.build_evaluator)
    wrapper = evaluator if isinstance(evaluator, dict) and 'metrics' in evaluator else None
    listed = wrapper['metrics'] if wrapper is not None else evaluator
    metrics = list(listed) if isinstance(listed, (list, tuple)) else [listed]
    if scope == 'mmseg':
        ious = [m for m in metrics if str(m.get('type', '')).split('.')[-1] == 'IoUMetric']
        if not ious:
            raise ValueError('--out for an mmseg config needs an IoUMetric in test_evaluator '
                             '(it writes the predictions).')
        for metric in ious:
            metric['output_dir'] = out
            metric['keep_results'] = True
        return cfg
    if not out.endswith(PICKLE_SUFFIXES):
        raise ValueError(f'--out {out!r}: the predictions of an {scope} config are dumped as a '
                         f'pickle; give a file name ending in {" or ".join(PICKLE_SUFFIXES)}.')
    metrics.append(ConfigDict(type=DUMP_METRICS[scope], out_file_path=out))
    if wrapper is not None:
        wrapper['metrics'] = metrics
    else:
        cfg.test_evaluator = metrics
    return cfg
