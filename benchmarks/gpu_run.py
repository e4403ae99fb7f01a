"""One prepared GPU run at the paper's sizes (issue 20, item 5), in under 8 minutes.

With AMP (float16 autocast, dynamic loss scale, as ``tools/train.py --amp``), side by side in one
process (methods and modes interleaved round-robin over the repeats, median per row):

1. training step, Swin-B backbone (stand-in loss) and UperNet Swin-L (the paper's segmentation
   model, ``configs/_base_/models/upernet_swin-l.py``), 512x512, batch 2, for Full, Fixed, LoRA,
   Adapter and Mona, eager and captured (the backbone's forward and backward as CUDA graphs, by
   :func:`mona_mm.hooks.capture_backbone`, what ``CudaGraphHook`` installs); ratios to Full;
2. backbone inference at 1333x800, batch 1: plain Swin-B, Swin-B-Mona, merged Swin-B-Mona and its
   projections-only bound (as :func:`benchmarks.tuning_cost.compare_inference`);
3. the top kernels by CUDA time of a ``torch.profiler`` trace of one eager training step of the
   Swin-B backbone, Full and Mona, and how many kernels the step launches.

Every table is markdown, ready for docs/benchmarks.md. The pieces are benchmarks/tuning_cost.py's
(``BackboneLoss``, ``make_batch``, ``TrainStep``, ``synchronize``, ``without_mona_convolutions``).

On the device machine (PyTorch and CUDA present, no package index), with the wheels of
``tools/gpu/pack_wheels.sh`` for that machine's Python and torch. The backbone and UperNet use
none of mmcv's CUDA ops, so an mmcv wheel built with CPU ops only (``MMCV_WITH_OPS=1`` without
``FORCE_CUDA``; minutes instead of the 69-minute CUDA build) is enough::

    bash tools/gpu/run_gpu_bench.sh WHEELS [OUT]     # installs the wheels, runs this, keeps the log
    python benchmarks/gpu_run.py                     # where the stack is installed

``--dry-run`` is the CPU smoke run the test suite runs (tests/test_gpu_run.py): a small Swin at
64 px, one repeat, no capture (no CUDA), the profiler on CPU activity; its numbers mean nothing.
"""
import argparse
import copy
import os
import os.path as osp
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

os.environ.setdefault('TORCH_CPP_LOG_LEVEL', 'ERROR')
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from benchmarks import tuning_cost  # noqa: E402
from mona_mm.hooks import capture_backbone  # noqa: E402
from mona_mm.models import SwinMona, merge_adapters  # noqa: E402

METHODS = ['Full', 'Fixed', 'LoRA', 'Adapter', 'Mona']
#: the paper's backbones (drop-path as tuning_cost's Swin-T, the same for every method)
PAPER = dict(backbone=dict(arch='base', drop_path_rate=0.2),
             upernet=dict(arch='large', drop_path_rate=0.2))
#: the dry run's small Swin: four stages, shifted windows, every method's slots
DRY = dict(embed_dims=32, depths=(2, 2, 2, 2), num_heads=(1, 2, 4, 8), window_size=4,
           drop_path_rate=0.2)
UPERNET_CONFIG = '_base_/models/upernet_swin-l.py'
TASK_NAMES = dict(backbone='Swin backbone', upernet='UperNet')


def build_model(task: str, tuning: str, backbone: dict,
                head_channels: Optional[int] = None) -> nn.Module:
    """The bare backbone with a stand-in loss (``tuning_cost.BackboneLoss``) or the paper's
    UperNet with ``backbone``'s SwinMona tuned by ``tuning``; random weights.

    The UperNet is adjusted as ``tuning_cost.build_task_model`` adjusts its Swin-T one: inputs
    padded to a multiple of 32 only, BN heads (one process), no pretrained file; the heads'
    input channels follow the backbone; ``head_channels`` replaces the heads' own width (the
    dry run's smaller heads).
    """
    if task == 'backbone':
        return tuning_cost.BackboneLoss(SwinMona(tuning=dict(type=tuning), **backbone))
    from mmengine.config import Config

    from mona_mm import config_path
    from mona_mm.runner import build_model as build_runner_model
    cfg = Config.fromfile(config_path(UPERNET_CONFIG))
    cfg.model.backbone = dict(type='SwinMona', tuning=dict(type=tuning), **backbone)
    channels = SwinMona(tuning='Fixed', **backbone).num_features
    cfg.model.data_preprocessor.update(size=None, size_divisor=32)
    cfg.model.pretrained = None
    cfg.model.decode_head.update(in_channels=channels, norm_cfg=dict(type='BN',
                                                                     requires_grad=True))
    cfg.model.auxiliary_head.update(in_channels=channels[2], norm_cfg=dict(type='BN',
                                                                           requires_grad=True))
    if head_channels:
        cfg.model.decode_head.channels = cfg.model.auxiliary_head.channels = head_channels
    return build_runner_model(cfg)


def markdown(rows: List[dict], columns: Sequence[tuple]) -> str:
    """A markdown table of ``rows``; ``columns``: (key, header, format) each."""
    lines = ['| ' + ' | '.join(h for _, h, _ in columns) + ' |',
             '|' + '|'.join('---' for _ in columns) + '|']
    for row in rows:
        lines.append('| ' + ' | '.join(fmt(row[k]) if row.get(k) is not None else '-'
                                       for k, _, fmt in columns) + ' |')
    return '\n'.join(lines)


def ms(v: float) -> str:
    return f'{v * 1000:.1f} ms'


def ratio(v: float) -> str:
    return f'{v:.2f}x'


TRAIN_COLUMNS = [('method', 'method', str), ('eager', 'eager', ms),
                 ('eager_ratio', 'eager vs Full', ratio), ('captured', 'captured', ms),
                 ('captured_ratio', 'captured vs Full', ratio),
                 ('speedup', 'eager / captured', ratio), ('trainable', 'trainable', '{:,}'.format),
                 ('note', 'capture', str)]
INFER_COLUMNS = [('model', 'backbone', str), ('latency', 'latency', ms),
                 ('ratio', 'vs plain', ratio)]
KERNEL_COLUMNS = [('name', 'kernel', str), ('calls', 'calls', str), ('time', 'time', ms),
                  ('share', 'share of step', lambda v: f'{v:.1%}')]


def compare_training(task: str, backbone: dict, methods: Sequence[str], size: int, batch: int,
                     repeats: int, device: torch.device, amp: bool, capture: bool,
                     warmup: bool = True, head_channels: Optional[int] = None) -> List[dict]:
    """Eager and captured step time per method, measured round-robin; ratios to Full.

    Each method's model is built once; its eager and captured steps are two ``TrainStep`` of it,
    the captured one with :func:`capture_backbone` active and the eager one with it paused
    (``CapturedForward.active``), so both train the same weights.
    """
    runs: Dict[tuple, Callable[[], float]] = {}
    rows = {}
    for method in methods:
        torch.manual_seed(0)
        model = build_model(task, method, backbone, head_channels).to(device)
        inputs, samples = tuning_cost.make_batch(
            'backbone' if task == 'backbone' else 'upernet', model, size, batch)
        step = tuning_cost.TrainStep(model, inputs, samples, amp=amp)
        rows[method] = dict(method=method, trainable=step.trainable, note='off (no CUDA)')
        runs[method, 'eager'] = step.seconds
        if capture:
            graphed = capture_backbone(model.backbone, num_warmup_iters=3)
            rows[method]['note'] = 'replayed'
            runs[method, 'captured'] = _captured(step, graphed, rows[method])
            graphed.active = False  # the eager step runs the backbone eagerly
    times: Dict[tuple, List[float]] = {k: [] for k in runs}
    for key, run in runs.items():  # warm-up (and, for captured, the capture)
        if warmup or key[1] == 'captured':
            run()
    for _ in range(repeats):
        for key, run in runs.items():
            times[key].append(run())
    for (method, mode), values in times.items():
        rows[method][mode] = statistics.median(values) if values[0] is not None else None
    ref = rows.get('Full', next(iter(rows.values())))
    for row in rows.values():
        for mode in ('eager', 'captured'):
            if row.get(mode) is not None and ref.get(mode):
                row[f'{mode}_ratio'] = row[mode] / ref[mode]
        if row.get('captured'):
            row['speedup'] = row['eager'] / row['captured']
    return list(rows.values())


def _captured(step, graphed, row: dict) -> Callable[[], Optional[float]]:
    """A timed step with the backbone captured; None (and a note) when capture failed."""
    def run() -> Optional[float]:
        graphed.active = True
        try:
            seconds = step.seconds()
        finally:
            graphed.active = False
        if graphed.disabled:
            row['note'] = graphed.disabled
            return None
        if not graphed.replays:
            row['note'] = 'not replayed'
        return seconds
    return run


def compare_inference(height: int, width: int, arch, repeats: int, device: torch.device,
                      amp: bool) -> List[dict]:
    """Backbone latency of plain Swin, Swin-Mona, merged Swin-Mona and the projections-only
    bound at ``height`` x ``width`` (``tuning_cost.compare_inference`` takes square sizes)."""
    kwargs = arch if isinstance(arch, dict) else dict(arch=arch)
    torch.manual_seed(0)
    variants = {'plain Swin': SwinMona(tuning='Fixed', **kwargs),
                'Swin-Mona': SwinMona(tuning='Mona', **kwargs)}
    merged = copy.deepcopy(variants['Swin-Mona'])
    merge_adapters(merged)
    variants['Swin-Mona merged'] = merged
    variants['bound: projections only'] = tuning_cost.without_mona_convolutions(merged)
    x = torch.randn(1, 3, height, width, device=device)
    times: Dict[str, List[float]] = {k: [] for k in variants}
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.float16, enabled=amp):
        for name, model in list(variants.items()):
            model.to(device).eval()
            try:
                model(x)
            except Exception as error:  # the bound is no model: a Mona change can break it
                if name != 'bound: projections only':
                    raise
                print(f'(row "{name}" left out: {type(error).__name__}: {error})')
                del variants[name], times[name]
        for _ in range(repeats):
            for name, model in variants.items():
                tuning_cost.synchronize(device)
                start = time.perf_counter()
                model(x)
                tuning_cost.synchronize(device)
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times['plain Swin'])
    return [dict(model=k, latency=statistics.median(v), ratio=statistics.median(v) / base)
            for k, v in times.items()]


def top_kernels(method: str, backbone: dict, size: int, batch: int, device: torch.device,
                amp: bool, top: int = 12) -> tuple:
    """The ``top`` kernels (CUDA; on CPU: operators by self CPU time) of one profiled eager
    training step of the backbone, after a warm-up step.

    Returns:
        ``(rows, launched, total)``: one row per kernel (``name``, ``calls``, ``time`` in s,
        ``share`` of the step's summed kernel time), the number of kernels (CPU: operators)
        the step ran, and their summed time.
    """
    from torch.profiler import ProfilerActivity, profile
    torch.manual_seed(0)
    model = build_model('backbone', method, backbone).to(device)
    step = tuning_cost.TrainStep(model, *tuning_cost.make_batch('backbone', model, size, batch),
                                 amp=amp)
    step()
    cuda = device.type == 'cuda'
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        step()
    events = [e for e in prof.key_averages()
              if (e.device_type.name == 'CUDA' if cuda else e.self_cpu_time_total > 0)]

    def self_time(e) -> float:  # microseconds
        if not cuda:
            return e.self_cpu_time_total
        return getattr(e, 'self_device_time_total', None) or e.self_cuda_time_total
    if cuda:  # kernels: the device-side events
        events = [e for e in events if self_time(e) > 0]
    total = sum(self_time(e) for e in events) or 1.0
    launched = sum(e.count for e in events)
    events.sort(key=self_time, reverse=True)
    rows = [dict(name=e.key if len(e.key) <= 80 else e.key[:77] + '...', calls=str(e.count),
                 time=self_time(e) / 1e6, share=self_time(e) / total) for e in events[:top]]
    return rows, launched, total / 1e6


def environment(device: torch.device) -> str:
    import mmengine
    name = torch.cuda.get_device_name() if device.type == 'cuda' else platform.processor() or 'cpu'
    return (f'device {device.type} ({name}), {torch.get_num_threads()} threads, torch '
            f'{torch.__version__}, mmengine {mmengine.__version__}, python '
            f'{platform.python_version()}')


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dry-run', action='store_true',
                        help='CPU smoke run: small Swin, 64 px, one repeat, no capture, CPU '
                        'profiler (what tests/test_gpu_run.py runs; the numbers mean nothing)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--methods', nargs='+', default=METHODS)
    parser.add_argument('--tasks', nargs='+', choices=list(PAPER), default=list(PAPER))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.dry_run:
        device, amp, capture = torch.device('cpu'), False, False
        size, batch, repeats, infer_hw, head_channels = 64, 2, 1, (64, 96), 32
        backbones = {task: DRY for task in PAPER}
        names = {task: 'small Swin' for task in PAPER}
    else:
        if not torch.cuda.is_available():
            parser.error('PyTorch sees no CUDA device here: run on a GPU machine, or use '
                         '--dry-run for the CPU smoke run.')
        device, amp, capture = torch.device('cuda'), True, True
        size, batch, repeats, infer_hw, head_channels = 512, 2, args.repeats, (800, 1333), None
        backbones = PAPER
        names = dict(backbone='Swin-B', upernet='Swin-L')
    print(environment(device))
    print(f'command: python benchmarks/gpu_run.py {" ".join(argv or sys.argv[1:])}')
    precision = ', AMP (float16)' if amp else ', fp32'
    for task in args.tasks:
        rows = compare_training(task, backbones[task], args.methods, size, batch, repeats,
                                device, amp, capture, warmup=not args.dry_run,
                                head_channels=head_channels)
        print(f'\n## training step, {TASK_NAMES[task]} {names[task]}, {size}x{size}, batch '
              f'{batch}{precision}, eager and captured (median of {repeats})\n')
        print(markdown(rows, TRAIN_COLUMNS))
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    h, w = infer_hw
    rows = compare_inference(h, w, 'base' if not args.dry_run else DRY, 1 if args.dry_run
                             else 10, device, amp)
    name = 'Swin-B' if not args.dry_run else 'small Swin'
    print(f'\n## inference, {name} backbone, {w}x{h}, batch 1{precision}\n')
    print(markdown(rows, INFER_COLUMNS))
    for method in ('Full', 'Mona'):
        rows, launched, total = top_kernels(method, backbones['backbone'], size, batch, device,
                                            amp)
        what = 'kernels by CUDA time' if device.type == 'cuda' else 'operators by self CPU time'
        print(f'\n## top {what}, one eager training step, {method}, {names["backbone"]} '
              f'backbone, {size}x{size}, batch {batch}{precision}: {launched} launched, '
              f'{total * 1000:.1f} ms summed\n')
        print(markdown(rows, KERNEL_COLUMNS))
    print(f'\ntotal {time.perf_counter() - start:.0f} s')


if __name__ == '__main__':
    main()
