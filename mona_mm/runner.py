"""What ``tools/train.py`` and ``tools/test.py`` do, for mmdet, mmseg and mmrotate configs alike.

The host library is chosen by the config's ``default_scope`` (as OpenMMLab's own tools do), its
modules are registered, and the config is adapted to the machine without being edited:

* with CUDA the config runs as written (nccl, SyncBN, AMP);
* on the CPU only when asked (``--cpu`` on the tools, or ``allow_cpu = True`` in the config, as the
  tiny quick-start configs have): the distributed backend becomes gloo (mmengine's default is
  nccl, and its launcher calls ``torch.cuda.set_device``, which a CPU build of torch lacks: we
  open the gloo process group ourselves), DDP gets no ``device_ids``, SyncBN falls back to BN,
  and AMP to fp32;
* otherwise, without CUDA (no GPU, a broken driver, a CPU build of torch), a tool stops at once
  saying so, instead of running a GPU job a hundred times slower on the CPU.

Checkpoint paths are checked before anything is built (``--resume``, ``load_from``), ``--resume``
without a path continues from the newest complete checkpoint, tools/test.py loads full and merged
checkpoints strictly, and a training process that loses the others of a distributed run stops
with an error saying so (docs/reliability.md).
"""
import argparse
import importlib
import logging
import os
import os.path as osp
import re
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mona_mm  # noqa: F401  (shims and registration before any host library module loads)
from mona_mm.checkpoints import (
    CheckpointFileError,
    check_fits,
    find_resume_checkpoint,
    is_delta,
    load_delta,
)
from mona_mm.checkpoints.files import checkpoint_file_problem
from mona_mm.checkpoints.strict import strip_module_prefix, unwrap_model
from mona_mm.datasets.agreement import (
    check_checkpoint_classes,
    check_classes,
    check_evaluator_ground_truth,
    describe_test_loader,
)
from mona_mm.models.backbones.pretrained import is_legacy_format, load_checkpoint_file
from mona_mm.utils.config_keys import (
    log_convenience_keys,
    overridden_keys,
    resolve_convenience_keys,
)

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


class CudaUnavailableError(RuntimeError):
    """A config written for GPUs was started where CUDA is not available, without ``--cpu``."""


def use_cpu() -> None:
    """``--cpu``: hide the GPUs from this process (before CUDA is initialised) so that the run
    takes the CPU path, also on a machine with a GPU.

    Raises:
        RuntimeError: CUDA was initialised before the option was read.
    """
    os.environ['CUDA_VISIBLE_DEVICES'] = ''
    if torch.cuda.is_available():
        raise RuntimeError('--cpu: CUDA was initialised before the GPUs could be hidden; start '
                           'the tool with CUDA_VISIBLE_DEVICES= in its environment instead.')


def adapt_to_device(cfg: Config, launcher: str = 'none') -> Config:
    """Make a GPU config run on this machine: unchanged with CUDA; without CUDA, the CPU
    fallbacks when ``cfg.allow_cpu`` is set (``--cpu`` sets it), else an error.

    Raises:
        CudaUnavailableError: no CUDA and the CPU was not asked for; the message says how.
    """
    if torch.cuda.is_available():
        return cfg
    if not cfg.get('allow_cpu', False):
        raise CudaUnavailableError(
            'CUDA is not available (torch.cuda.is_available() is False: no GPU, a broken '
            f'driver or a CPU-only build of torch {torch.__version__}), and this config is '
            'written for GPUs. To run on the CPU on purpose (much slower; gloo, SyncBN as BN, AMP '
            'as fp32), add --cpu to tools/train.py or tools/test.py (dist_train.sh and '
            'dist_test.sh pass it on), or set allow_cpu = True in the config.')
    notes = []
    cfg.setdefault('env_cfg', ConfigDict())
    cfg.env_cfg.setdefault('dist_cfg', ConfigDict())
    cfg.env_cfg.dist_cfg['backend'] = 'gloo'  # also logged in the environment block: true
    if launcher != 'none':
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
    print_log(f'No CUDA device: running on the CPU as asked (allow_cpu / --cpu)'
              f'{": " + ", ".join(notes) if notes else ""}; SyncBN layers run as BN.',
              logger='current')
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
    """Apply what every tool does: ``--cfg-options`` (the top-level ``data_root`` and
    ``pretrained`` where they are meant to apply: ``mona_mm.utils.config_keys``), launcher,
    ``--work-dir``.

    Raises:
        ConfigKeyError: a top-level ``data_root`` / ``pretrained`` that cannot be applied.
    """
    overridden = overridden_keys(cfg, cfg_options)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    log_convenience_keys(resolve_convenience_keys(cfg, overridden))
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


def _check_file(path: Optional[str], what: str) -> None:
    """One clear error for a local checkpoint file that is missing, empty, truncated or not a
    checkpoint (URLs are left to mmengine)."""
    if path and not re.match(r'^[a-zA-Z][\w+.-]*://', path):
        problem = checkpoint_file_problem(osp.expanduser(path))
        if problem:
            raise CheckpointFileError(f'The {what} {path} {problem}.')
        if is_legacy_format(osp.expanduser(path)):  # no checksums: read it once to know
            load_checkpoint_file(path, what)


def set_resume(cfg: Config, resume: Optional[str]) -> Config:
    """``--resume``: ``'auto'`` takes the newest complete checkpoint of the work dir (the one
    ``last_checkpoint`` names, unless that is missing or partial, or a newer one exists); a path
    takes that file.

    Raises:
        CheckpointFileError: the given file is missing, empty, truncated or not a checkpoint.
    """
    if resume is None:
        return cfg
    if resume != 'auto':
        _check_file(resume, 'checkpoint to resume from')
        cfg.resume = True
        cfg.load_from = resume
        return cfg
    path, notes = find_resume_checkpoint(cfg.work_dir)
    for note in notes:
        print_log(f'--resume: passed over {note}.', logger='current', level=logging.WARNING)
    if path is None:
        print_log(f'--resume: no complete checkpoint in {cfg.work_dir}; training starts from '
                  f'the beginning.', logger='current', level=logging.WARNING)
        cfg.resume = False
        cfg.load_from = None
    else:
        print_log(f'--resume: continuing from {path}.', logger='current')
        cfg.resume = True
        cfg.load_from = path
    return cfg


def dataset_class_getter(cfg: Config):
    """``get(type_name)``: the dataset class of the config's host library, or None."""
    registry = importlib.import_module(f'{register_scope(cfg)}.registry').DATASETS
    return lambda name: registry.get(name)


def check_data_agreement(cfg: Config, mode: str) -> None:
    """Before building anything: the dataloaders' classes, the heads' ``num_classes`` and the
    evaluators' ground truth agree (``mona_mm.datasets.agreement``); at test time, how the test
    dataloader differs from the val one is logged.

    Raises:
        ClassMismatchError: naming both sides and the key to set.
    """
    get_class = dataset_class_getter(cfg)
    if mode == 'test':
        for line in describe_test_loader(cfg, get_class):
            print_log(line, logger='current', level=logging.WARNING)
        loaders = ['test_dataloader']
    else:
        loaders = ['train_dataloader'] + (['val_dataloader'] if cfg.get('val_cfg') else [])
    check_classes(cfg, loaders, get_class)
    check_evaluator_ground_truth(cfg, mode)


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
        help='override config settings KEY=VALUE, e.g. data_root=data/mine/ and '
        'pretrained=weights.pth (applied to every key derived from them), '
        'train_cfg.max_epochs=1 (epoch-based configs: detection) or train_cfg.max_iters=10 '
        '(iteration-based: segmentation)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--cpu', action='store_true',
        help='run on the CPU on purpose (gloo, SyncBN as BN, AMP as fp32), also where a GPU is; '
        'without it a config written for GPUs stops when CUDA is not available')
    args = parser.parse_args()
    if args.cpu:
        use_cpu()
    if 'LOCAL_RANK' not in os.environ:  # torchrun sets it; the legacy launcher passes the flag
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    args.cfg = merge_args(Config.fromfile(args.config), args.launcher, args.work_dir,
                          args.cfg_options, args.config)
    if args.cpu:
        args.cfg.allow_cpu = True
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


class DistributedFault(RuntimeError):
    """This process lost the other processes of a distributed run (one died or hangs)."""


#: what torch.distributed's backends say when a peer process is gone or silent
_COMM_FAILURE = re.compile(r'gloo|nccl|connection (closed|reset)|timed out|timeout|'
                           r'processgroup|c10d|broken pipe', re.IGNORECASE)


def distributed_fault(error: BaseException, runner: Runner) -> Optional[str]:
    """The message for a failed collective of a multi-process run, else None."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    dist_error = getattr(dist, 'DistError', ())
    if not (isinstance(error, dist_error) or (isinstance(error, RuntimeError) and
                                              _COMM_FAILURE.search(str(error)))):
        return None
    first = str(error).strip().split('\n')[0][:300]
    last = runner.message_hub.get_info('last_ckpt')
    return (f'Rank {dist.get_rank()} of {dist.get_world_size()} lost the other training '
            f'processes at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): {first}. '
            f'Another process died (its log or the launcher says why: out of memory, killed, '
            f'an error) or stopped answering within the distributed timeout '
            f'(env_cfg.dist_cfg.timeout); this one stops instead of waiting. The checkpoints '
            f'written so far are complete (newest: {last or "none yet"}); continue with '
            f'--resume once the cause is fixed.')


def run_train(cfg: Config):
    """What tools/train.py does: check the checkpoint paths, build the runner, train.

    Raises:
        CheckpointFileError: ``load_from`` is missing, empty, truncated or not a checkpoint.
        ClassMismatchError: datasets, heads and evaluators that disagree.
        DistributedFault: another process of a distributed run died or hangs.
    """
    if not cfg.get('resume', False):
        _check_file(cfg.get('load_from'), 'load_from checkpoint')
    check_data_agreement(cfg, 'train')
    optim = cfg.get('optim_wrapper')
    if isinstance(optim, dict) and optim.get('constructor') in (None,
                                                                'DefaultOptimWrapperConstructor'):
        # mmengine's constructor, with one summary line instead of one per frozen parameter
        optim['constructor'] = 'SummaryOptimWrapperConstructor'
    runner = build_runner(cfg)
    try:
        return runner.train()
    except Exception as e:
        message = distributed_fault(e, runner)
        if message is None:
            raise
        runner.logger.error(message)
        raise DistributedFault(message) from e


def run_test(cfg: Config, checkpoint: str, base: Optional[str] = None):
    """Evaluate ``checkpoint``: a full or merged checkpoint, loaded strictly, or a delta applied
    on ``base`` weights.

    Raises:
        CheckpointFileError: the file is missing, truncated or not a checkpoint.
        ClassMismatchError: the checkpoint's classes, the test dataset's and the heads' differ.
        CheckpointMismatchError: a full checkpoint that does not fit the config's model (the
            first few missing, unexpected and mis-shaped keys, and the likely cause: a merged
            checkpoint without ``deploy=True``, weights of a larger backbone ...).
    """
    _check_file(checkpoint, 'checkpoint')
    cfg.load_from = None  # loaded here, strictly, instead of by mmengine's non-strict load
    ckpt = load_checkpoint_file(checkpoint, 'checkpoint')
    check_data_agreement(cfg, 'test')
    check_checkpoint_classes(cfg, ckpt, checkpoint, dataset_class_getter(cfg))
    runner = build_runner(cfg)
    if not is_delta(ckpt) and base is not None:
        raise ValueError('--base is only for delta checkpoints; this one is a full checkpoint.')
    model = unwrap_model(runner.model)  # inside DDP and --tta's wrapper
    if is_delta(ckpt):
        load_delta(model, ckpt, base)
    else:
        check_fits(model, ckpt, checkpoint)
        model.load_state_dict(strip_module_prefix(ckpt.get('state_dict', ckpt)), strict=True)
        runner.logger.info(f'Loaded checkpoint {checkpoint} (every tensor of the model).')
    del ckpt
    metrics = runner.test()
    _log_drawings(runner)
    evaluators = cfg.get('test_evaluator')
    evaluators = evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]
    format_only = any(isinstance(e, dict) and e.get('format_only') for e in evaluators)
    if not metrics and not format_only:  # format_only: result files (a test server's), no metric
        raise NoMetricError(
            f'No metric was computed on the {len(runner.test_dataloader.dataset)} test images: '
            f'the model predicted nothing (the evaluator logged "results ... empty" above). An '
            f'untrained or diverged checkpoint, or a score threshold above every score '
            f'(model.test_cfg: score_thr), gives this; check the checkpoint with its training '
            f'log.')
    return metrics


class NoMetricError(RuntimeError):
    """A test run that computed no metric (empty predictions)."""


def _log_drawings(runner: Runner) -> None:
    """Where ``--show-dir`` put the drawings (the hosts' hooks place them differently)."""
    for hook in runner.hooks:
        if not getattr(hook, 'draw', False):
            continue
        folder = getattr(hook, 'test_out_dir', None)  # mmdet/mmrotate: WORK_DIR/TIMESTAMP/DIR
        if folder is None:  # mmseg: the visualizer's storage, DIR/vis_data/vis_image
            backends = getattr(runner.visualizer, '_vis_backends', {}).values()
            folder = next((getattr(b, '_img_save_dir', None) for b in backends
                           if getattr(b, '_img_save_dir', None)), None)
        if folder and osp.isdir(folder):
            runner.logger.info(f'The drawings of the test images are in {osp.abspath(folder)}')
