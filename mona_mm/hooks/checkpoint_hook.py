"""mmengine's ``CheckpointHook`` made safe against a crash at any moment, and a report of a
checkpoint that does not fit the model when one is loaded.

mmengine 0.10's hook, under ``max_keep_ckpts``, deletes the oldest checkpoint *before* it writes
the new one, writes the new one in place (``open(path, 'wb')``) and then ``last_checkpoint``: a
SIGKILL (an OOM kill, a preemption) while the new file is written leaves a partial file, no older
checkpoint (with ``max_keep_ckpts=1``, as our tiny and STAR configs) and ``last_checkpoint``
naming the deleted file; ``--resume`` fails both ways. ``SafeCheckpointHook`` changes only the
order and the writes:

1. the new checkpoint is written to a hidden temporary file beside it (``.epoch_2.pth.<pid>.tmp``),
   flushed to disk and renamed to its name (atomic: the name shows the old file or the complete
   new one);
2. then ``last_checkpoint`` is replaced the same way;
3. only then are the checkpoints beyond ``max_keep_ckpts`` removed (and the previous best one, for
   ``save_best``).

Whatever the moment of a kill, the newest complete checkpoint is on disk, and ``--resume``
(``mona_mm.runner.set_resume``, which also skips a partial file left by the stock hook) continues
from it. Temporary files of a killed run are removed when the next run starts. Remote backends
(``backend_args``) keep mmengine's behaviour.

When a checkpoint is loaded (``load_from``, ``--resume``), its keys and shapes are compared with
the model: mmengine loads non-strictly, so a checkpoint of another model would leave parts of the
model at their initialisation after a warning among the log lines. ``load_from`` keeps that
behaviour (fine-tuning from a related model is legitimate) but logs our report at WARNING level;
resuming a run from a checkpoint that does not fit is an error.

With ``delta=True`` every checkpoint is adapter-only (``mona_mm.checkpoints.delta``): the
tensors training changes, their optimizer and scheduler state, and the record of the base (the
backbone's pretrained file, or ``WORK_DIR/base_weights.pth`` written once for a backbone that
started from none, and the fingerprint of the frozen tensors). A few MB instead of hundreds for
Swin-B; ``tools/test.py``, the demo, ``load_from`` and ``--resume`` take it as they take a full one.

Usage in a config (our bases set it)::

    default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=1))
    default_hooks = dict(checkpoint=dict(delta=True))  # adapter-only checkpoints
"""
import os
import os.path as osp
import re
import shutil

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from mona_mm.checkpoints.delta import (
    base_weights_state,
    complete_delta,
    delta_record,
    is_delta,
    strip_to_delta,
)
from mona_mm.checkpoints.files import (
    TMP_SUFFIX,
    replace_atomic,
    save_atomic,
    temporary_path,
    write_text_atomic,
)
from mona_mm.checkpoints.strict import (
    CheckpointFileError,
    CheckpointMismatchError,
    describe_mismatch,
    state_dict_mismatch,
    strip_module_prefix,
    unwrap_model,
)

_STALE_TMP = re.compile(r'^\..+\.\d+' + re.escape(TMP_SUFFIX) + '$')


class _AtomicSaves:
    """The runner as mmengine's hook code sees it, whose ``save_checkpoint`` is atomic."""

    def __init__(self, hook: 'SafeCheckpointHook', runner) -> None:
        self.unwrapped = runner
        self._hook = hook

    def __getattr__(self, name):
        return getattr(self.unwrapped, name)

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        self._hook.save_atomic(self.unwrapped, out_dir, filename, *args, **kwargs)


class _DeferredRemovals:
    """A file backend whose removals wait until the new checkpoint is complete."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.paths = []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def remove(self, path) -> None:
        self.paths.append(path)

    def rmtree(self, path) -> None:
        self.paths.append(path)


def _remove(path: str) -> None:
    if osp.isdir(path):  # checkpoints saved by deepspeed are folders
        shutil.rmtree(path)
    elif osp.isfile(path):
        os.remove(path)


def checkpoint_due(runner, epoch_end: bool) -> bool:
    """Whether the run's checkpoint hook saves at the end of this iteration (``epoch_end``
    False) or epoch (True): its own rule (interval from ``save_begin``, and the last one with
    ``save_last``). For hooks that must act on every rank just before the save, which mmengine
    makes on rank 0 only."""
    hook = next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
    if hook is None or hook.by_epoch != epoch_end:
        return False
    if epoch_end:
        return bool(hook.every_n_epochs(runner, hook.interval, hook.save_begin) or (
            hook.save_last and hook.is_last_train_epoch(runner)))
    return bool(hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
        hook.save_last and hook.is_last_train_iter(runner)))


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) with atomic writes, removals after the new checkpoint is
    complete, and a report of a loaded checkpoint that does not fit the model (module
    docstring).

    Args:
        delta (bool): Write adapter-only checkpoints (with optimizer and scheduler state).
            Default: False.
        *args, **kwargs: mmengine's ``CheckpointHook``'s.
    """

    #: the file a delta names as its base when the backbone started from no pretrained file
    BASE_FILE = 'base_weights.pth'

    def __init__(self, *args, delta: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.delta = delta
        self._delta_record = None
        self._loaded_record = None  # the base record of a delta loaded by --resume / load_from

    def _local(self) -> bool:
        return isinstance(getattr(self, 'file_backend', None), (LocalBackend, _DeferredRemovals))

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._local() and is_main_process() and osp.isdir(self.out_dir):
            for name in os.listdir(self.out_dir):
                if _STALE_TMP.match(name):  # a write cut short by a kill
                    runner.logger.warning(f'Removing {name}, a checkpoint that a killed run did '
                                          f'not finish writing.')
                    os.remove(osp.join(self.out_dir, name))
        if self.delta:
            self._delta_record = self._record_base(runner)

    def _record_base(self, runner) -> dict:
        """The base of this run's deltas: the backbone's pretrained file, else its initial
        tensors written once to ``WORK_DIR/base_weights.pth``; with their fingerprint."""
        model = unwrap_model(runner.model)
        base = model.backbone.pretrained_checkpoint()
        if base is None and self._loaded_record is not None:
            record = delta_record(model, self._loaded_record.get('base'))
            if record['base_fingerprint'] == self._loaded_record['base_fingerprint']:
                return record  # resumed from a delta: the same base file
        if base is None:
            base = osp.join(runner.work_dir, self.BASE_FILE)
            if is_main_process() and not osp.exists(base):
                save_atomic({'state_dict': base_weights_state(model)}, base)
                runner.logger.info(f'Delta checkpoints: the backbone starts from no pretrained '
                                   f'file, so its initial weights are written to {base}, the '
                                   f'base the checkpoints name.')
        return delta_record(model, base)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """With ``delta``: the checkpoint keeps only what training changes (module docstring)."""
        if self.delta:
            strip_to_delta(checkpoint, unwrap_model(runner.model), self._delta_record)

    def save_atomic(self, runner, out_dir: str, filename: str, *args, **kwargs) -> None:
        """``runner.save_checkpoint`` into a temporary file, then a rename to ``filename``."""
        final = osp.join(out_dir, filename)
        tmp = temporary_path(final)
        runner.save_checkpoint(out_dir, osp.basename(tmp), *args, **kwargs)
        if is_main_process():  # save_checkpoint writes on the main process only
            replace_atomic(tmp, final)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not self._local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        runner = getattr(runner, 'unwrapped', runner)
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self.save_atomic(
            runner, self.out_dir, filename, self.file_client_args,
            save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
            meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        write_text_atomic(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))
        for old in outdated:  # only now that the new checkpoint is complete
            _remove(self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self._local():
            return super()._save_best_checkpoint(runner, metrics)
        backend = self.file_backend
        self.file_backend = deferred = _DeferredRemovals(backend)
        try:
            super()._save_best_checkpoint(_AtomicSaves(self, runner), metrics)
        finally:
            self.file_backend = backend
        if is_main_process():
            for path in deferred.paths:
                _remove(path)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Compare the loaded checkpoint with the model: a warning for ``load_from``, an error
        for a resume (the run cannot continue on another model)."""
        model = unwrap_model(runner.model)
        name = runner.cfg.get('load_from') or 'being loaded'
        if not isinstance(checkpoint, dict):
            raise CheckpointFileError(
                f'The checkpoint {name} holds a {type(checkpoint).__name__}, not a checkpoint '
                f'dict (tools/train.py saves {{"state_dict": ..., "meta": ...}}).')
        if is_delta(checkpoint):  # its frozen tensors from its base, verified
            self._loaded_record = dict(checkpoint['meta']['mona_mm_delta'])
            complete_delta(checkpoint, model, logger=runner.logger)
        state = checkpoint.get('state_dict', checkpoint)
        mismatch = state_dict_mismatch(model, strip_module_prefix(state))
        if not mismatch:
            return
        message = describe_mismatch(model, checkpoint, name, mismatch)
        if getattr(runner, '_resume', False):
            raise CheckpointMismatchError(f'Cannot resume: {message} To start a new run from '
                                          f'these weights, use load_from without --resume.')
        own = model.state_dict()
        if not any(k in own and getattr(v, 'shape', None) == own[k].shape
                   for k, v in strip_module_prefix(state).items()):
            raise CheckpointMismatchError(f'{message} None of its tensors fits the model, so '
                                          f'nothing would be loaded.')
        runner.logger.warning(f'{message} load_from loads it non-strictly (mmengine): the '
                              f'model keeps its initialisation where the file has no tensor.')
