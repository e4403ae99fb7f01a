"""A hook that logs which batch-norm layers the wrapped model holds when training starts.

Used by the CUDA DDP test through ``custom_imports``: it proves that a config's SyncBN became
``torch.nn.SyncBatchNorm`` (not BN) in a real nccl process group.
"""
import torch.distributed as dist
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

PLAIN_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@HOOKS.register_module()
class SyncBNProbeHook(Hook):
    """Log the counts of SyncBatchNorm and plain BatchNorm layers, the process group's backend
    and size, the model wrapper and the device, in one ``SyncBN probe:`` line."""

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        modules = list(model.modules())
        sync = sum(isinstance(m, nn.SyncBatchNorm) for m in modules)
        plain = sum(type(m) in PLAIN_BN for m in modules)
        backend = dist.get_backend() if dist.is_initialized() else 'none'
        world = dist.get_world_size() if dist.is_initialized() else 1
        device = next(model.parameters()).device.type
        runner.logger.info(f'SyncBN probe: {sync} SyncBatchNorm, {plain} BatchNorm, backend '
                           f'{backend}, world size {world}, {type(runner.model).__name__}, '
                           f'device {device}')
