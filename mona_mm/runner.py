"""What ``tools/train.py`` and ``tools/test.py`` do, for mmdet, mmseg and mmrotate configs alike.

The host library is chosen by the config's ``default_scope`` (as OpenMMLab's own tools do), its
modules are registered, and the config is adapted to the machine without being edited:

* no CUDA: the distributed backend becomes gloo (mmengine's default is nccl, and its launcher
  calls ``torch.cuda.set_device``, which a CPU build of torch lacks: we open the gloo process
  group ourselves), DDP gets no ``device_ids``, SyncBN falls back to BN, and AMP to fp32;
* with CUDA the config runs as written (nccl, SyncBN, AMP).
"""
import argparse
import importlib
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mona_mm  # noqa: F401  (shims and registration before any host library module loads)

#: host library (a config's default_scope) -> our package that registers into it
HOSTS = {'mmdet': 'mona_mm.det', 'mmseg': 'mona_mm.seg', 'mmrotate': 'mona_mm.rotate'}
SCOPES = tuple(HOSTS)


def register_scope(cfg: Config) -> str:
    """Import and register the modules of the config's host library; return its scope."""
    scope = cfg.get('default_scope', 'mmdet')
    if scope not in SCOPES:
        raise ValueError(f'default_scope {scope!r} is not supported; mona_mm tools run configs '
                         f'of {SCOPES}.')
    importlib.import_module(HOSTS[scope])  # for mmrotate: the shims it needs to import, first
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    return scope


def _replace_sync_bn(node):
    """Turn every ``SyncBN`` norm config into ``BN`` (CPU fallback)."""
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
        for v in node.values():
            _replace_sync_bn(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _replace_sync_bn(v)


def adapt_to_device(cfg: Config, launcher: str = 'none') -> Config:
    """Make a GPU config run on this machine: unchanged with CUDA, CPU fallbacks without."""
    if torch.cuda.is_available():
        return cfg
    notes = []
    if launcher != 'none':
        cfg.setdefault('env_cfg', ConfigDict())
        cfg.env_cfg.setdefault('dist_cfg', ConfigDict())
        cfg.env_cfg.dist_cfg['backend'] = 'gloo'
        cfg.model_wrapper_cfg = ConfigDict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        notes.append('distributed backend gloo')
    if cfg.get('sync_bn') is not None:
        cfg.sync_bn = None
        notes.append('sync_bn off')
    _replace_sync_bn(cfg.model)
    optim = cfg.get('optim_wrapper')
    if optim is not None and optim.get('type') == 'AmpOptimWrapper':
        optim.type = 'OptimWrapper'
        optim.pop('loss_scale', None)
        optim.pop('dtype', None)
        notes.append('AMP off (fp32)')
    if notes:
        print_log(f'No CUDA device: {", ".join(notes)}; SyncBN layers run as BN.', logger='current')
    return cfg


def init_cpu_distributed(launcher: str, cfg: Config) -> None:
    """Open the gloo process group on a CPU machine (mmengine's launcher assumes CUDA)."""
    if launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return
    if launcher != 'pytorch':
        raise RuntimeError(f'Launcher {launcher!r} needs CUDA; on a CPU machine use '
                           f'tools/dist_train.sh (torchrun, launcher "pytorch").')
    timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout', 1800)
    from datetime import timedelta
    dist.init_process_group(backend='gloo', timeout=timedelta(seconds=timeout))


def merge_args(cfg: Config,
               launcher: str = 'none',
               work_dir: Optional[str] = None,
               cfg_options: Optional[dict] = None,
               config_path: str = '') -> Config:
    """Apply what every tool does: ``--cfg-options``, launcher, ``--work-dir``."""
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    return cfg


def enable_amp(cfg: Config) -> Config:
    """``--amp``: mixed precision with a dynamic loss scale (fp32 kept on CPU)."""
    optim = cfg.optim_wrapper
    if optim.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
        print_log('AMP is already enabled in this config.', logger='current')
    else:
        optim.type = 'AmpOptimWrapper'
        optim.loss_scale = 'dynamic'
    return cfg


def set_resume(cfg: Config, resume: Optional[str]) -> Config:
    """``--resume``: ``'auto'`` takes the latest checkpoint of the work dir; a path takes it."""
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Register the host library, adapt to the device and build the runner."""
    register_scope(cfg)
    launcher = cfg.get('launcher', 'none')
    adapt_to_device(cfg, launcher)
    init_cpu_distributed(launcher, cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def parse_tool_args(parser) -> 'argparse.Namespace':
    """Add the options every tool shares, parse, and load the config with them applied.

    Returns:
        The parsed arguments, with ``args.cfg`` the loaded config.
    """
    from mmengine.config import DictAction
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=10')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:  # torchrun sets it; the legacy launcher passes the flag
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    args.cfg = merge_args(Config.fromfile(args.config), args.launcher, args.work_dir,
                          args.cfg_options, args.config)
    return args


def enable_tta(cfg: Config) -> Config:
    """``--tta``: wrap the model in the config's ``tta_model`` and use its ``tta_pipeline``."""
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise KeyError('--tta needs `tta_model` and `tta_pipeline` in the config (the host '
                       'library configs define them for multi-scale flip testing).')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return cfg


def build_model(cfg: Config):
    """Build ``cfg.model`` in its host library's registry (no weights are loaded)."""
    from mmengine.registry import init_default_scope
    scope = register_scope(cfg)
    init_default_scope(scope)
    return importlib.import_module(f'{scope}.registry').MODELS.build(cfg.model)


def run_test(cfg: Config, checkpoint: str, base: Optional[str] = None):
    """Evaluate ``checkpoint``: a full checkpoint, or a delta applied on ``base`` weights."""
    from mmengine.model import is_model_wrapper
    from mmengine.runner.checkpoint import CheckpointLoader

    from mona_mm.checkpoints import is_delta, load_delta
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    if not is_delta(ckpt):
        if base is not None:
            raise ValueError('--base is only for delta checkpoints; this one is a full checkpoint.')
        cfg.load_from = checkpoint
        return build_runner(cfg).test()
    cfg.load_from = None
    runner = build_runner(cfg)
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    load_delta(model, ckpt, base)
    return runner.test()
