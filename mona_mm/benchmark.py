"""Side-by-side cost of the tuning methods: training step time, memory, trainable parameters,
and inference latency of plain Swin, Swin-Mona and merged Swin-Mona.

Every number is measured in one process, one run, interleaved across methods (round-robin over
repeats, median per method), and reported as a ratio to Full (training) or to plain Swin
(inference), so machine load affects all methods alike. ``benchmarks/bench_tuning.py`` is the
command line; ``docs/benchmarks.md`` holds results.

Memory: the peak of the bytes PyTorch has allocated during one training step, counting what
is live when the step starts (weights, buffers, optimizer state, the batch): on CUDA
``torch.cuda.max_memory_allocated``; on CPU, where PyTorch keeps no allocator statistics, the
same quantity from the profiler's allocation records (``profile_memory=True``), in a separate,
untimed step.

A method name may end in ``+cp`` (``Mona+cp``): the same method with ``with_cp=True``
(gradient checkpointing of every block).
"""
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.config import Config

from mona_mm.models.merge import merge_adapters
from mona_mm.runner import build_model

METHODS = ('Full', 'Fixed', 'BitFit', 'NormTuning', 'Partial', 'Adapter', 'LoRA', 'AdaptFormer',
           'LoRand', 'Mona', 'Mona+cp')

SWIN_T = dict(type='SwinMona', arch='tiny', drop_path_rate=0.2)

TASKS = {
    'backbone': dict(),  # the Swin-T backbone alone: the part a tuning method changes
    'mask-rcnn': dict(
        config='configs/mask_rcnn_swin_mona_coco.py',
        model=dict(backbone=dict(_delete_=True, **SWIN_T),
                   neck=dict(in_channels=[96, 192, 384, 768]))),
    'upernet': dict(
        config='swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py',
        package='mmseg',
        model=dict(backbone=dict(_delete_=True, **SWIN_T),
                   data_preprocessor=dict(size=None), pretrained=None)),
}


class BackboneLoss(nn.Module):
    """The Swin-T backbone with a stand-in loss (mean square of every output level)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def loss(self, inputs: torch.Tensor, samples) -> dict:
        return dict(loss=sum(o.square().mean() for o in self.backbone(inputs)))


def build_task_model(task: str, tuning, root: str = '.', with_cp: bool = False) -> nn.Module:
    """The task's detector/segmentor (or bare backbone) with a Swin-T tuned by ``tuning``."""
    import os.path as osp
    if task == 'backbone':
        from mona_mm.models import SwinMona
        cfg = {k: v for k, v in SWIN_T.items() if k != 'type'}
        return BackboneLoss(SwinMona(**cfg, tuning=tuning, with_cp=with_cp))
    spec = TASKS[task]
    if 'package' in spec:  # a host-library config, from its installed .mim/configs
        import importlib
        pkg = osp.dirname(importlib.import_module(spec['package']).__file__)
        path = osp.join(pkg, '.mim', 'configs', spec['config'])
    else:
        path = osp.join(root, spec['config'])
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(dict(model=spec['model']))
    cfg.model.backbone.tuning = tuning
    cfg.model.backbone.with_cp = with_cp
    if task == 'upernet':
        cfg.default_scope = 'mmseg'
        cfg.model.decode_head.norm_cfg = dict(type='BN', requires_grad=True)
        cfg.model.auxiliary_head.norm_cfg = dict(type='BN', requires_grad=True)
    return build_model(cfg)


def make_batch(task: str, size: int, batch: int):
    """A deterministic synthetic batch with ground truth, as the data preprocessor outputs it."""
    g = torch.Generator().manual_seed(0)
    inputs = torch.randn(batch, 3, size, size, generator=g)
    samples = []
    if task == 'backbone':
        return inputs, samples
    if task == 'mask-rcnn':
        from mmdet.structures import DetDataSample
        from mmdet.structures.mask import BitmapMasks
        from mmengine.structures import InstanceData
        for _ in range(batch):
            s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                            pad_shape=(size, size),
                                            batch_input_shape=(size, size),
                                            scale_factor=(1., 1.)))
            a, b = size // 8, size // 2
            gt = InstanceData(bboxes=torch.tensor([[a, a, b, b], [b, b, size - a, size - a]],
                                                  dtype=torch.float32),
                              labels=torch.tensor([0, 1]))
            masks = torch.zeros(2, size, size, dtype=torch.uint8)
            masks[0, a:b, a:b] = 1
            masks[1, b:size - a, b:size - a] = 1
            gt.masks = BitmapMasks(masks.numpy(), size, size)
            s.gt_instances = gt
            samples.append(s)
    else:
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        for _ in range(batch):
            s = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                            pad_shape=(size, size)))
            s.gt_sem_seg = PixelData(
                data=torch.randint(0, 150, (1, size, size), generator=g))
            samples.append(s)
    return inputs, samples


def _loss(model, inputs, samples) -> torch.Tensor:
    losses = model.loss(inputs, samples)
    return sum(v.sum() if torch.is_tensor(v) else sum(x.sum() for x in v)
               for k, v in losses.items() if 'loss' in k)


def _cpu_step_peak(step: Callable[[], None]) -> int:
    """Peak of the bytes allocated (minus freed) during ``step``, from the profiler's records.

    The records are those of ``profile_memory=True`` (every allocation and free through
    PyTorch's CPU allocator, with its time); their running sum's maximum is the peak.
    """
    import itertools
    import os

    from torch.autograd import DeviceType
    os.environ.setdefault('KINETO_LOG_LEVEL', '6')  # above USDT (5): no start/stop chatter
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    records = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                     if e.name() == '[memory]' and e.device_type() == DeviceType.CPU)
    return max(itertools.accumulate((n for _, n in records), initial=0))


class TrainStep:
    """One model's training step (forward, backward, AdamW step) on a fixed batch."""

    def __init__(self, model: nn.Module, inputs: torch.Tensor, samples) -> None:
        self.model, self.inputs, self.samples = model.train(), inputs, samples
        self.params = [p for p in model.parameters() if p.requires_grad]
        # foreach: PyTorch's default on CUDA, where training happens; on CPU its default is a
        # loop over tensors, whose per-tensor overhead would penalise methods with many small
        # parameter tensors (Mona: 13 per adapter) for a reason unrelated to the method.
        # Nothing to train (Fixed on the bare backbone): the step is the forward pass.
        self.opt = (torch.optim.AdamW(self.params, lr=1e-4, weight_decay=0.05, foreach=True)
                    if self.params else None)

    def __call__(self) -> None:  # the order of mmengine's OptimWrapper.update_params
        loss = _loss(self.model, self.inputs, self.samples)
        if self.opt is not None:
            loss.backward()
            self.opt.step()
            self.opt.zero_grad(set_to_none=True)
        if self.inputs.is_cuda:
            torch.cuda.synchronize()

    def seconds(self) -> float:
        start = time.perf_counter()
        self()
        return time.perf_counter() - start

    def peak_memory(self) -> int:
        """Peak bytes allocated during a step, counting everything live before it."""
        if self.inputs.is_cuda:
            torch.cuda.reset_peak_memory_stats()
            self()
            return torch.cuda.max_memory_allocated()
        tensors = list(self.model.parameters()) + list(self.model.buffers()) + [self.inputs]
        state = self.opt.state.values() if self.opt is not None else []
        tensors += [t for s in state for t in s.values() if torch.is_tensor(t)]
        live = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
        return sum(live.values()) + _cpu_step_peak(self)

    @property
    def trainable(self) -> int:
        return sum(p.numel() for p in self.params)


def _method(name: str):
    """``'Mona+cp'`` -> ``('Mona', True)``: the tuning method and whether to checkpoint."""
    base, _, flag = name.partition('+')
    if flag not in ('', 'cp'):
        raise ValueError(f'Unknown benchmark variant {name!r}: use METHOD or METHOD+cp')
    return base, flag == 'cp'


def compare_training(task: str, methods=METHODS, size: int = 256, batch: int = 2,
                     repeats: int = 3, warmup: int = 1, device: str = 'cpu',
                     root: str = '.') -> List[dict]:
    """Rows of step time, peak memory and trainable parameters per method, ratios to Full."""
    inputs, samples = make_batch(task, size, batch)
    inputs = inputs.to(device)
    samples = [s.to(device) for s in samples]
    steps = {}
    for m in methods:
        torch.manual_seed(0)
        tuning, with_cp = _method(m)
        model = build_task_model(task, dict(type=tuning), root, with_cp).to(device)
        steps[m] = TrainStep(model, inputs, samples)
    for step in steps.values():
        for _ in range(warmup):  # also creates the optimizer state
            step()
    times = {m: [] for m in methods}
    for _ in range(repeats):  # round-robin so load drifts hit every method alike
        for m, step in steps.items():
            times[m].append(step.seconds())
    rows = [dict(method=m, step=statistics.median(times[m]), memory=step.peak_memory(),
                 trainable=step.trainable) for m, step in steps.items()]
    ref = next((r for r in rows if r['method'] == 'Full'), rows[0])
    for r in rows:
        r['step_ratio'] = r['step'] / ref['step']
        r['memory_ratio'] = r['memory'] / ref['memory']
    return rows


def compare_inference(size: int = 256, batch: int = 1, repeats: int = 10, warmup: int = 2,
                      device: str = 'cpu', arch: str = 'tiny') -> List[dict]:
    """Backbone latency of plain Swin, Swin-Mona and merged Swin-Mona (ratios to plain).

    A fourth row, ``bound: projections only``, is merged Swin-Mona with every Mona's convolution
    removed (not a model, outputs differ): what Mona's LayerNorm, two projections, GELU and
    residual cost alone, the floor under any layout or convolution optimisation.
    """
    import copy

    from mona_mm.models import Mona, SwinMona
    torch.manual_seed(0)
    variants = {'plain Swin': SwinMona(arch=arch, tuning='Fixed'),
                'Swin-Mona': SwinMona(arch=arch, tuning='Mona')}
    merged = SwinMona(arch=arch, tuning='Mona')
    merged.load_state_dict(variants['Swin-Mona'].state_dict())
    merge_adapters(merged)
    variants['Swin-Mona merged'] = merged
    bound = copy.deepcopy(merged)
    for module in bound.modules():
        if isinstance(module, Mona):
            module.adapter_conv = nn.Identity()
    variants['bound: projections only'] = bound
    x = torch.randn(batch, 3, size, size, device=device)
    times: Dict[str, list] = {k: [] for k in variants}
    with torch.no_grad():
        for m in variants.values():
            m.to(device).eval()
            for _ in range(warmup):
                m(x)
        for _ in range(repeats):
            for name, m in variants.items():
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                start = time.perf_counter()
                m(x)
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times['plain Swin'])
    return [dict(model=k, latency=statistics.median(v),
                 ratio=statistics.median(v) / base) for k, v in times.items()]


def format_rows(rows: List[dict], columns, headers) -> str:
    table = [headers] + [[fmt(r[c]) for c, fmt in columns] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    lines = ['  '.join(cell.rjust(w) if i else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))) for row in table]
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)


TRAIN_COLUMNS = ([('method', str), ('step', lambda v: f'{v * 1000:.0f} ms'),
                  ('step_ratio', lambda v: f'{v:.2f}x'),
                  ('memory', lambda v: f'{v / 2**20:.0f} MiB'),
                  ('memory_ratio', lambda v: f'{v:.2f}x'), ('trainable', lambda v: f'{v:,}')],
                 ['method', 'step', 'vs Full', 'memory', 'vs Full', 'trainable'])
INFER_COLUMNS = ([('model', str), ('latency', lambda v: f'{v * 1000:.1f} ms'),
                  ('ratio', lambda v: f'{v:.2f}x')], ['backbone', 'latency', 'vs plain'])


def environment(device: Optional[str] = None) -> str:
    import platform

    import mmdet
    import mmengine
    dev = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    name = torch.cuda.get_device_name() if dev == 'cuda' else platform.processor() or 'cpu'
    return (f'device {dev} ({name}), {torch.get_num_threads()} threads, torch {torch.__version__},'
            f' mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, '
            f'python {platform.python_version()}')
