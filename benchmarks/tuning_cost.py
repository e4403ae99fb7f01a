"""Side-by-side cost of the tuning methods: training step time, peak memory and trainable
parameters, and inference latency of plain Swin, Swin-Mona and merged Swin-Mona.

Every number is measured in one process, one run, interleaved across methods (round-robin over
repeats, median per method), and reported as a ratio to Full (training) or to plain Swin
(inference), so machine load affects all methods alike. ``benchmarks/bench_tuning.py`` is the
command line; ``docs/benchmarks.md`` holds results.

The methods are the registered ones (:func:`mona_mm.tuning.available_methods`). A method name may
end in a variant (:data:`VARIANTS`): ``+cp`` (``Mona+cp``), the same method with ``with_cp=True``
(gradient checkpointing of every block); ``Mona+autograd``, Mona's layers run module by module
under autograd (``MonaLayer.fused_step = False``, how they ran before the fused step), to compare
the two side by side in one run.

Memory (:mod:`benchmarks.memory`) is the peak of the bytes PyTorch has allocated during one
training step, counting what is live when the step starts (weights, buffers, optimizer state, the
batch's images), measured in a separate, untimed step.
"""
import copy
import importlib.util
import statistics
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.hub import get_config
from mmengine.model import BaseModel

from mona_mm.layers import MonaLayer
from mona_mm.models import SwinMona, ViTMona, merge_adapters
from mona_mm.runner import build_model
from mona_mm.tuning import available_methods

from .memory import live_bytes, step_peak
from .op_count import PHASES, StepCount, count_step

#: Swin-T, as in the host libraries' Swin-T detection and segmentation configs
SWIN_T = dict(arch='tiny', drop_path_rate=0.2)
#: ViT-S (DeiT-S's shape: 384 wide, 12 blocks, 6 heads), its grid fitted to the input size
VIT_S = dict(arch='small', drop_path_rate=0.1)

#: the backbone tasks: the backbone alone with a stand-in loss, the part a tuning method changes
BACKBONES = {'backbone': (SwinMona, SWIN_T, 'Swin-T'), 'vit-backbone': (ViTMona, VIT_S, 'ViT-S')}

#: task -> the host library's Swin-T config whose model is measured (its backbone replaced by a
#: tuned SwinMona); None for the backbone tasks (:data:`BACKBONES`)
TASKS: Dict[str, Optional[str]] = {
    'backbone': None,
    'vit-backbone': None,
    'mask-rcnn': 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py',
    'upernet': 'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py',
}

#: the variant suffix: the method with gradient checkpointing of every block
CP = '+cp'
#: variant -> what it means (``METHOD+variant``)
VARIANTS = {'cp': 'with_cp=True', 'autograd': "Mona's layers module by module under autograd"}


def default_methods() -> List[str]:
    """Full (the reference of every ratio), the other registered methods, and ``Mona+cp``."""
    return ['Full'] + [m for m in available_methods() if m != 'Full'] + ['Mona' + CP]


def parse_method(name: str) -> Tuple[str, str]:
    """``'Mona+cp'`` -> ``('Mona', 'cp')``, ``'Mona'`` -> ``('Mona', '')``: the tuning method and
    its variant (:data:`VARIANTS`).

    Raises:
        ValueError: an unknown variant or method, or ``+autograd`` on another method than Mona
            (the message lists the valid ones).
    """
    base, plus, variant = name.partition('+')
    if plus and variant not in VARIANTS:
        raise ValueError(f'Unknown benchmark variant {name!r}: use METHOD, METHOD{CP} or '
                         'Mona+autograd.')
    if base not in available_methods():
        raise ValueError(f'Unknown tuning method {base!r}. Valid: {available_methods()}')
    if variant == 'autograd' and base != 'Mona':
        raise ValueError(f'{name!r}: the +autograd variant runs Mona\'s layers module by module; '
                         'it applies to Mona only.')
    return base, variant


def backbone_name(task: str) -> str:
    """The backbone a task's model has: ``Swin-T`` or ``ViT-S``."""
    return BACKBONES[task][2] if task in BACKBONES else 'Swin-T'


class BackboneLoss(BaseModel):
    """A backbone with a stand-in loss: the mean square of every output level."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None,
                mode: str = 'loss') -> Dict[str, torch.Tensor]:
        return self.loss(inputs, data_samples)

    def loss(self, inputs: torch.Tensor, data_samples: Optional[list] = None
             ) -> Dict[str, torch.Tensor]:
        """Args: inputs: (B, 3, H, W). Returns: ``dict(loss=scalar)``."""
        return dict(loss=sum(o.square().mean() for o in self.backbone(inputs)))


def build_task_model(task: str, tuning: str, variant: str = '', size: int = 224) -> BaseModel:
    """The task's detector or segmentor with a Swin-T (or the bare backbone of
    :data:`BACKBONES`) tuned by ``tuning``, in the benchmark ``variant`` (:data:`VARIANTS`; ''
    for none). A ViT's grid is fitted to ``size`` x ``size`` inputs (no position-table resizing
    in the step).

    Weights are random: cost does not depend on them.
    """
    if task in BACKBONES:
        cls, args, _ = BACKBONES[task]
        args = dict(args, img_size=size) if cls is ViTMona else args
        model = BackboneLoss(cls(tuning=dict(type=tuning), with_cp=variant == 'cp', **args))
    else:
        model = _host_model(task, dict(SWIN_T, type='SwinMona', tuning=dict(type=tuning),
                                       with_cp=variant == 'cp'))
    if variant == 'autograd':
        for module in model.modules():
            if isinstance(module, MonaLayer):
                module.fused_step = False
    return model


def _host_model(task: str, backbone: dict) -> BaseModel:
    """The host library's model of ``task`` with ``backbone``."""
    host = TASKS[task].partition('::')[0]
    if importlib.util.find_spec(host) is None:  # get_config would pip-install it
        raise ImportError(f'The {task} task builds a model of {host}, which is not installed: '
                          f'install it (tools/install.sh), or choose another --task.')
    cfg = get_config(TASKS[task])
    cfg.merge_from_dict(dict(model=dict(backbone=dict(_delete_=True, **backbone))))
    if task == 'upernet':
        # no padding up to the 512x512 crop: inputs keep their size, padded to a multiple of 32
        # as mmdet's preprocessor pads them; BN, not SyncBN: one process
        cfg.model.data_preprocessor.update(size=None, size_divisor=32)
        cfg.model.pretrained = None
        cfg.model.decode_head.norm_cfg = dict(type='BN', requires_grad=True)
        cfg.model.auxiliary_head.norm_cfg = dict(type='BN', requires_grad=True)
    return build_model(cfg)


def _segmentation_inputs(batch: int, size: int, num_classes: int) -> dict:
    """Random images and label maps as mmseg's ``PackSegInputs`` packs them."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g))
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, size, size), generator=g))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def make_batch(task: str, model: BaseModel, size: int, batch: int
               ) -> Tuple[torch.Tensor, list]:
    """A deterministic batch with ground truth, as ``model``'s data preprocessor outputs it, on
    the model's device.

    Detection: mmdet's ``demo_mm_inputs`` (random boxes and masks, two objects per image);
    segmentation: random label maps; the bare backbone: a random tensor.

    Returns:
        ``(inputs, data_samples)``; inputs (batch, 3, H, W): ``size`` x ``size`` images, padded
        to a multiple of 32 by the detection and segmentation preprocessors.
    """
    if TASKS[task] is None:
        g = torch.Generator().manual_seed(0)
        device = next(model.parameters()).device
        return torch.randn(batch, 3, size, size, generator=g).to(device), []
    if task == 'mask-rcnn':
        from mmdet.testing import demo_mm_inputs
        packed = demo_mm_inputs(batch_size=batch, image_shapes=(3, size, size),
                                num_items=[2] * batch, with_mask=True,
                                num_classes=model.roi_head.bbox_head.num_classes)
    else:
        packed = _segmentation_inputs(batch, size, model.decode_head.num_classes)
    data = model.data_preprocessor(packed, training=True)
    return data['inputs'], data['data_samples']


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously), so timings are complete."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class TrainStep:
    """One training iteration of ``model`` on a fixed batch.

    Forward (``model.loss``), ``model.parse_losses``, backward, AdamW step and ``zero_grad``: the
    order of mmengine's ``BaseModel.train_step`` with an ``OptimWrapper``, whose data
    preprocessing ran once beforehand (:func:`make_batch`). With ``amp``, the forward runs under
    float16 autocast and the loss is scaled dynamically, as ``AmpOptimWrapper`` does
    (``tools/train.py --amp``).

    Args:
        model: A detector, segmentor or :class:`BackboneLoss`.
        inputs: The preprocessed images, (B, 3, H, W), on the model's device.
        data_samples: Their ground truth.
        amp: Mixed precision.
    """

    def __init__(self, model: BaseModel, inputs: torch.Tensor, data_samples: list,
                 amp: bool = False) -> None:
        self.model, self.inputs, self.data_samples = model.train(), inputs, data_samples
        self.device, self.amp = inputs.device, amp
        self.params = [p for p in model.parameters() if p.requires_grad]
        # foreach: PyTorch's default on CUDA, where training happens; on CPU its default is a
        # loop over tensors, whose per-tensor overhead would penalise methods with many small
        # parameter tensors (Mona: 13 per adapter) for a reason unrelated to the method.
        # Nothing to train (Fixed on the bare backbone): the step is the forward pass.
        self.opt = (torch.optim.AdamW(self.params, lr=1e-4, weight_decay=0.05, foreach=True)
                    if self.params else None)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=amp)

    def __call__(self) -> None:
        loss = self.forward()
        if self.opt is not None:
            self.backward(loss)
            self.optimizer_step()
        synchronize(self.device)

    def forward(self) -> torch.Tensor:
        """The loss (``model.loss`` then ``parse_losses``)."""
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            losses = self.model.loss(self.inputs, self.data_samples)
        return self.model.parse_losses(losses)[0]

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward()

    def optimizer_step(self) -> None:
        """AdamW's step (through the loss scaler) and ``zero_grad``."""
        self.scaler.step(self.opt)
        self.scaler.update()
        self.opt.zero_grad(set_to_none=True)

    def count(self) -> StepCount:
        """The deterministic cost counts of one step (:mod:`benchmarks.op_count`); run it after
        a first step, so that the optimizer's state exists as in every later step."""
        if self.opt is None:  # nothing trains: the step is the forward pass
            return count_step(self.forward, lambda loss: None, None, self.model)
        host = [t for s in self.opt.state.values() for k, t in s.items() if k == 'step']
        return count_step(self.forward, self.backward, self.optimizer_step, self.model, host)

    def seconds(self) -> float:
        """Wall time of one step."""
        start = time.perf_counter()
        self()
        return time.perf_counter() - start

    def peak_memory(self) -> int:
        """Peak bytes allocated during one step, counting everything of this step's model live
        before it (weights, buffers, optimizer state, the images)."""
        tensors = list(self.model.parameters()) + list(self.model.buffers()) + [self.inputs]
        state = self.opt.state.values() if self.opt is not None else []
        tensors += [t for s in state for t in s.values() if torch.is_tensor(t)]
        return live_bytes(tensors) + step_peak(self, self.device)

    @property
    def trainable(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.params)


def compare_training(task: str, methods: Optional[Sequence[str]] = None, size: int = 256,
                     batch: int = 2, repeats: int = 3, warmup: int = 1, device: str = 'cpu',
                     amp: bool = False, count: bool = False) -> List[dict]:
    """Step time (median of ``repeats``), peak memory and trainable parameters per method;
    with ``count``, also the deterministic counts of :mod:`benchmarks.op_count`.

    Returns:
        One row per method: ``method``, ``step`` (s), ``memory`` (bytes), ``trainable``, and
        ``step_ratio`` / ``memory_ratio`` to Full's row (to the first row without Full). With
        ``count``: ``ops`` (the whole step), ``ops_forward``/``ops_backward``/``ops_optimizer``,
        ``tiny``, ``syncs``, ``host``, ``saved`` (bytes), ``flops``, ``touched`` (bytes), and
        ``ops_ratio`` / ``saved_ratio`` to Full's.
    """
    methods = list(methods or default_methods())
    dev = torch.device(device)
    steps = {}
    for name in methods:
        tuning, variant = parse_method(name)
        torch.manual_seed(0)
        model = build_task_model(task, tuning, variant, size).to(dev)
        steps[name] = TrainStep(model, *make_batch(task, model, size, batch), amp=amp)
    for step in steps.values():
        for _ in range(warmup):  # also creates the optimizer state
            step()
    times: Dict[str, List[float]] = {m: [] for m in methods}
    for _ in range(repeats):  # round-robin so load drifts hit every method alike
        for name, step in steps.items():
            times[name].append(step.seconds())
    rows = [dict(method=m, step=statistics.median(times[m]), memory=step.peak_memory(),
                 trainable=step.trainable) for m, step in steps.items()]
    if count:
        for row in rows:
            row.update(count_row(steps[row['method']].count()))
    ref = next((r for r in rows if r['method'] == 'Full'), rows[0])
    for r in rows:
        r['step_ratio'] = r['step'] / ref['step']
        r['memory_ratio'] = r['memory'] / ref['memory']
        if count:
            r['ops_ratio'] = r['ops'] / ref['ops']
            r['saved_ratio'] = r['saved'] / max(ref['saved'], 1)
    return rows


def count_row(c: StepCount) -> dict:
    """The columns of a :class:`StepCount` (sums over the step's phases)."""
    row = dict(ops=c.total_ops, tiny=sum(c.tiny.values()), syncs=sum(c.syncs.values()),
               host=sum(c.host.values()),
               saved=c.saved, flops=sum(c.flops.values()), touched=sum(c.touched.values()))
    row.update({f'ops_{phase}': c.ops[phase] for phase in PHASES})
    return row


def without_mona_convolutions(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every Mona's convolution (its ``adapter_conv``, merged or not)
    replaced by the identity: not a model (outputs differ), a cost bound."""
    bound = copy.deepcopy(model)
    for name, _ in list(bound.named_modules()):
        parent, _, child = name.rpartition('.')
        if child == 'adapter_conv':
            setattr(bound.get_submodule(parent), child, nn.Identity())
    return bound


def compare_inference(size: int = 256, batch: int = 1, repeats: int = 10, warmup: int = 2,
                      device: str = 'cpu', arch: str = 'tiny', amp: bool = False
                      ) -> List[dict]:
    """Backbone latency of plain Swin, Swin-Mona and merged Swin-Mona (ratios to plain).

    A fourth row, ``bound: projections only``, is merged Swin-Mona with every Mona's convolution
    removed (:func:`without_mona_convolutions`): what Mona's LayerNorm, two projections, GELU and
    residual cost alone, the floor under any layout or convolution optimisation.

    Returns:
        One row per variant: ``model``, ``latency`` (s, median), ``ratio`` to plain Swin.
    """
    dev = torch.device(device)
    torch.manual_seed(0)
    variants = {'plain Swin': SwinMona(arch=arch, tuning='Fixed'),
                'Swin-Mona': SwinMona(arch=arch, tuning='Mona')}
    merged = copy.deepcopy(variants['Swin-Mona'])
    merge_adapters(merged)
    variants['Swin-Mona merged'] = merged
    variants['bound: projections only'] = without_mona_convolutions(merged)
    x = torch.randn(batch, 3, size, size, device=dev)
    times: Dict[str, List[float]] = {k: [] for k in variants}
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.float16, enabled=amp):
        for model in variants.values():
            model.to(dev).eval()
            for _ in range(warmup):
                model(x)
        for _ in range(repeats):  # round-robin, as for training
            for name, model in variants.items():
                synchronize(dev)
                start = time.perf_counter()
                model(x)
                synchronize(dev)
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times['plain Swin'])
    return [dict(model=k, latency=statistics.median(v), ratio=statistics.median(v) / base)
            for k, v in times.items()]
