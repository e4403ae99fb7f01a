"""Peak memory of a step, from public PyTorch APIs only.

On CUDA, ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``. On CPU PyTorch
keeps no allocator statistics, but its profiler records every allocation and free through the CPU
allocator when ``profile_memory=True``, each with the allocator's running total, and writes them
as ``[memory]`` events (``args``: ``Bytes``, ``Total Allocated``, ``Device Type``) into the Chrome
trace of ``profile.export_chrome_trace``. The largest running total during the step, less the
total when it starts, is the step's own peak: the same quantity as on CUDA.
"""
import json
import os
import os.path as osp
import tempfile
from typing import Callable, Iterable

import torch

#: ``Device Type`` of a CPU ``[memory]`` event in the trace (``c10::DeviceType::CPU``)
TRACE_CPU = 0


def cpu_step_peak(step: Callable[[], None]) -> int:
    """Peak of the CPU bytes allocated (minus freed) during ``step()``, above what was allocated
    when it started; 0 if it allocates nothing.

    The step runs once, under the profiler (slower than usual: do not time it).
    """
    # Kineto reads its log level once, when the profiler first starts: above USDT (5) it keeps
    # its start/stop lines out of the benchmark's tables.
    os.environ.setdefault('KINETO_LOG_LEVEL', '6')
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'trace.json')
        prof.export_chrome_trace(path)
        with open(path) as f:
            trace = json.load(f)
    events = trace['traceEvents'] if isinstance(trace, dict) else trace
    records = sorted((e for e in events if e.get('name') == '[memory]'
                      and e['args'].get('Device Type') == TRACE_CPU), key=lambda e: e['ts'])
    if not records:
        return 0
    first = records[0]['args']
    start = first['Total Allocated'] - first['Bytes']  # allocated just before the first record
    return max(0, max(r['args']['Total Allocated'] for r in records) - start)


def step_peak(step: Callable[[], None], device: torch.device) -> int:
    """Peak bytes allocated during ``step()`` on ``device``, above what was allocated before it.

    CUDA: from the caching allocator's statistics (everything on the device counts, so the
    difference isolates the step even when other models share the device). CPU:
    :func:`cpu_step_peak`.
    """
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        start = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - start
    if device.type != 'cpu':
        raise ValueError(f'Peak memory is measured on cpu and cuda only, not {device.type}.')
    return cpu_step_peak(step)


def live_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind ``tensors`` (views and shared weights count once)."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values())
