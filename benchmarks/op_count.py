"""Deterministic cost counts of a training step: ops dispatched, bytes kept for backward, FLOPs.

On a GPU at the sizes people train Swin-T, the host dispatching kernels one by one is what the
device waits on: the H200 step times of the ten tuning methods fit ``0.8 ms + 49.7 us x ops``
(R^2 0.988, docs/benchmarks.md). The number of ops a step dispatches is a property of the code,
not of the machine, so it is counted here on the CPU, exactly and repeatably, by a
``TorchDispatchMode`` that sees every aten op below autograd (forward, the backward autograd runs,
and the optimizer):

* **ops**: every aten op, except views (``func.is_view``: no kernel) and bare allocations
  (``empty``, ``new_empty``, ...: no kernel either); ``F.dropout`` in training is counted as
  CUDA's single fused op (``native_dropout``, one op back), where the CPU would run three;
* **tiny**: ops that touch (read plus write) less than 64 KiB: all launch cost, no work;
* **syncs**: ops that read a device tensor's value on the host (``.item()``, ``nonzero``, ...);
  on a GPU each one stalls the host until the device catches up;
* **host**: ops whose inputs all live on the host on any device (AdamW's step counters, which it
  increments and reads on the host twice per parameter tensor): no kernel and no sync on a GPU,
  so counted apart and not among the ops;
* **saved**: bytes of the distinct storages autograd keeps for backward during the forward
  (``saved_tensors_hooks``), parameters and buffers excluded (they are live anyway);
* **FLOPs**: from ``torch.utils.flop_counter``'s formulas (matrix products and convolutions;
  a depthwise conv counts its groups through its weight's shape);
* **touched**: bytes read and written by the counted ops (each tensor argument and result once).

``benchmarks/bench_tuning.py --count`` prints these per tuning method beside the measured times.
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Optional, Set

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import flop_registry

aten = torch.ops.aten

#: allocations without a kernel: not counted
ALLOCATIONS = {aten.empty, aten.empty_like, aten.empty_strided, aten.new_empty,
               aten.new_empty_strided, aten._unsafe_view, aten.lift_fresh}
#: profiler markers (``record_function`` in the optimizer) are no kernels: only these count
COUNTED_NAMESPACES = {'aten', 'prims'}
#: ops that bring a tensor's value to the host
HOST_READS = {aten._local_scalar_dense, aten.nonzero, aten.equal, aten.is_nonzero,
              aten.masked_select, aten.unique_consecutive, aten._unique2, aten.unique_dim,
              aten.repeat_interleave}
#: an op touching fewer bytes than this is launch cost only
TINY_BYTES = 64 * 1024
PHASES = ('forward', 'backward', 'optimizer')


@dataclass
class StepCount:
    """What one training step dispatched, per phase (:data:`PHASES`)."""

    ops: Counter = field(default_factory=Counter)
    tiny: Counter = field(default_factory=Counter)
    syncs: Counter = field(default_factory=Counter)
    flops: Counter = field(default_factory=Counter)
    touched: Counter = field(default_factory=Counter)
    #: ops on host tensors only (AdamW's step counters): counted apart, not in ``ops``
    host: Counter = field(default_factory=Counter)
    #: aten op name -> how often, over the whole step
    by_op: Counter = field(default_factory=Counter)
    saved: int = 0

    @property
    def total_ops(self) -> int:
        return sum(self.ops.values())


class _CudaDropout:
    """``F.dropout`` in training as CUDA runs it: one ``native_dropout`` (and one op back).

    It replaces ``torch.nn.functional.dropout`` while active, rather than being a
    ``TorchFunctionMode``: modes are per thread, and a checkpointed block recomputes its
    forward inside backward, where the mode would not be seen and the recomputed dropout would
    differ from the saved one."""

    def __enter__(self) -> '_CudaDropout':
        self._dropout = F.dropout
        F.dropout = self._native
        return self

    def __exit__(self, *exc) -> None:
        F.dropout = self._dropout

    def _native(self, input, p=0.5, training=True, inplace=False):
        if training and 0 < p < 1 and not inplace:
            return torch.native_dropout(input, p, True)[0]
        return self._dropout(input, p, training, inplace)


class OpCounter(TorchDispatchMode):
    """Counts the aten ops run under it into ``self.count`` under the current ``self.phase``.

    Args:
        host_tensors: Tensors that live on the host on any device (reading them is no sync).
    """

    def __init__(self, host_tensors: Iterable[torch.Tensor] = ()) -> None:
        super().__init__()
        self.count = StepCount()
        self.phase = 'forward'
        self._host = {t.untyped_storage().data_ptr() for t in host_tensors}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if (func.is_view or func.overloadpacket in ALLOCATIONS
                or func.namespace not in COUNTED_NAMESPACES):
            return out
        c, phase = self.count, self.phase
        ins = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        # an op runs where its first argument's tensors live (a 0-dim CPU scalar may join)
        first = [t for t in tree_leaves(args[:1]) if isinstance(t, torch.Tensor)]
        if first and all(t.untyped_storage().data_ptr() in self._host for t in first):
            c.host[phase] += 1  # on the host on any device: no kernel, no sync
            return out
        seen = {(t.data_ptr(), t.numel(), t.dtype): t.numel() * t.element_size()
                for t in ins + outs}
        touched = sum(seen.values())
        c.ops[phase] += 1
        c.by_op[func.overloadpacket.__name__] += 1
        c.touched[phase] += touched
        c.tiny[phase] += touched < TINY_BYTES
        if func.overloadpacket in HOST_READS:
            c.syncs[phase] += 1
        formula = flop_registry.get(func.overloadpacket)
        if formula is not None:
            c.flops[phase] += formula(*args, **kwargs, out_val=out)
        return out


class SavedBytes:
    """Bytes of the distinct storages autograd saves for backward while active, except those of
    ``exclude`` (parameters, buffers)."""

    def __init__(self, exclude: Iterable[torch.Tensor] = ()) -> None:
        self._exclude = {t.untyped_storage().data_ptr() for t in exclude}
        self.storages: Dict[int, int] = {}
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in self._exclude:
            self.storages[storage.data_ptr()] = storage.nbytes()
        return t

    @property
    def total(self) -> int:
        return sum(self.storages.values())

    def __enter__(self) -> 'SavedBytes':
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)


def count_step(forward: Callable[[], torch.Tensor], backward: Callable[[torch.Tensor], None],
               optimizer_step: Optional[Callable[[], None]] = None,
               module: Optional[torch.nn.Module] = None,
               host_tensors: Iterable[torch.Tensor] = ()) -> StepCount:
    """Count one training step given as its three phases.

    Args:
        forward: Returns the loss.
        backward: Runs backward from the loss.
        optimizer_step: The optimizer's step and ``zero_grad`` (None: no optimizer phase).
        module: Its parameters and buffers are not counted as saved for backward.
        host_tensors: Tensors whose values the host may read without a sync.
    """
    exclude: Set[torch.Tensor] = set()
    if module is not None:
        exclude = set(module.parameters()) | set(module.buffers())
    counter = OpCounter(host_tensors)
    saved = SavedBytes(exclude)
    with _CudaDropout(), counter:
        with saved:
            loss = forward()
        counter.phase = 'backward'
        backward(loss)
        counter.phase = 'optimizer'
        if optimizer_step is not None:
            optimizer_step()
    counter.count.saved = saved.total
    return counter.count
