"""Side-by-side cost of the tuning methods: training step time, memory, trainable parameters,
and inference latency of plain Swin, Swin-Mona and merged Swin-Mona.

Every number is measured in one process, one run, interleaved across methods (round-robin over
repeats, median per method), and reported as a ratio to Full (training) or to plain Swin
(inference), so machine load affects all methods alike. ``benchmarks/bench_tuning.py`` is the
command line; ``docs/benchmarks.md`` holds results.

Memory: on CUDA, ``torch.cuda.max_memory_allocated`` of one training step. On CPU PyTorch keeps
no allocator statistics, so we count what a training step must hold beyond the weights: the
tensors autograd saves for backward (unique storages, via ``saved_tensors_hooks``), the
gradients, and AdamW's two state tensors per trainable parameter.
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
           'LoRand', 'Mona')

SWIN_T = dict(type='SwinMona', arch='tiny', drop_path_rate=0.2)

TASKS = {
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


def build_task_model(task: str, tuning, root: str = '.') -> nn.Module:
    """The task's detector/segmentor with a Swin-T backbone tuned by ``tuning``."""
    import os.path as osp
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


class _SavedBytes:
    """Sum of the unique storages autograd saves during a forward pass."""

    def __init__(self) -> None:
        self.seen: Dict[int, int] = {}

    def pack(self, t: torch.Tensor):
        try:
            storage = t.untyped_storage()
            self.seen[storage.data_ptr()] = storage.nbytes()
        except (RuntimeError, NotImplementedError):
            pass
        return t

    @property
    def total(self) -> int:
        return sum(self.seen.values())


def train_step_cost(model: nn.Module, inputs, samples, repeats: int, warmup: int,
                    timer: Callable[[], float]) -> Dict[str, float]:
    """Median seconds per training step and bytes a step holds beyond the weights."""
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.05)
    times = []
    for i in range(warmup + repeats):
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        counter = _SavedBytes()
        start = timer()
        with torch.autograd.graph.saved_tensors_hooks(counter.pack, lambda t: t):
            loss = _loss(model, inputs, samples)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(timer() - start)
    if torch.cuda.is_available():
        memory = torch.cuda.max_memory_allocated()
    else:
        trainable_bytes = sum(p.numel() * p.element_size() for p in params)
        memory = counter.total + 3 * trainable_bytes  # saved + grads + AdamW exp_avg(_sq)
    return dict(step=statistics.median(times), memory=memory,
                trainable=sum(p.numel() for p in params))


def compare_training(task: str, methods=METHODS, size: int = 256, batch: int = 2,
                     repeats: int = 3, warmup: int = 1, device: str = 'cpu',
                     root: str = '.') -> List[dict]:
    """Rows of step time, memory and trainable parameters per method, with ratios to Full."""
    models = {}
    for m in methods:
        torch.manual_seed(0)
        models[m] = build_task_model(task, dict(type=m), root).to(device)
    inputs, samples = make_batch(task, size, batch)
    inputs = inputs.to(device)
    samples = [s.to(device) for s in samples]
    results = {m: [] for m in methods}
    for _ in range(repeats):  # round-robin so load drifts hit every method alike
        for m in methods:
            results[m].append(train_step_cost(models[m], inputs, samples, 1, warmup,
                                              time.perf_counter))
        warmup = 0
    rows = []
    for m in methods:
        step = statistics.median(r['step'] for r in results[m])
        rows.append(dict(method=m, step=step, memory=results[m][-1]['memory'],
                         trainable=results[m][-1]['trainable']))
    ref = next((r for r in rows if r['method'] == 'Full'), rows[0])
    for r in rows:
        r['step_ratio'] = r['step'] / ref['step']
        r['memory_ratio'] = r['memory'] / ref['memory']
    return rows


def compare_inference(size: int = 256, batch: int = 1, repeats: int = 10, warmup: int = 2,
                      device: str = 'cpu', arch: str = 'tiny') -> List[dict]:
    """Backbone latency of plain Swin, Swin-Mona and merged Swin-Mona (ratios to plain)."""
    from mona_mm.models import SwinMona
    torch.manual_seed(0)
    variants = {'plain Swin': SwinMona(arch=arch, tuning='Fixed'),
                'Swin-Mona': SwinMona(arch=arch, tuning='Mona')}
    merged = SwinMona(arch=arch, tuning='Mona')
    merged.load_state_dict(variants['Swin-Mona'].state_dict())
    merge_adapters(merged)
    variants['Swin-Mona merged'] = merged
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
