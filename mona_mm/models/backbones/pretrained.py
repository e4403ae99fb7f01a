"""Loading a pretrained checkpoint into a tuned backbone, with a report of what loaded.

Family-neutral: a backbone family (``swin_checkpoint.py``, ...) maps its published key layouts to
the backbone's keys and says how a tensor whose shape legitimately differs is adapted (Swin's
relative-position tables for another window size, a ViT's position embeddings for another image
size); this module does the rest, the same for every family: shape checks that refuse another
architecture naming every key, a load that reports what loaded, what was ignored, which tensors
stay at their initialisation (the adapters, the output norms) and any unexpected key, and an error
for a missing pretrained weight.
"""
import functools
import logging
import os
import os.path as osp
import re
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger, print_log
from mmengine.runner.checkpoint import CheckpointLoader

#: ``adapt(key, value, target_shape)``: the tensor to load for ``key`` (resized if the family knows
#: how), or None to leave the key out as ignored (for example a buffer the model recomputes)
Adapt = Callable[[str, torch.Tensor, torch.Size], Optional[torch.Tensor]]


@dataclass
class LoadReport:
    """What a pretrained load did. Printed to the log; also returned for tests and tools."""
    source_format: str
    family: str
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    missing_allowed: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)
    resized: List[str] = field(default_factory=list)
    #: how the resized tensors were resized
    resize_rule: str = 'bicubic'
    #: further lines for the log (the family's remarks on this file)
    notes: List[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f'Loaded {len(self.loaded)} tensors from a {self.source_format} '
                 f'{self.family} checkpoint.']
        if self.resized:
            lines.append(f'  resized to this model ({self.resize_rule}): {len(self.resized)} '
                         f'tensor(s), {head(self.resized)}')
        if self.missing_allowed:
            lines.append(f'  not in checkpoint, kept at initialisation (adapters, output '
                         f'norms): {len(self.missing_allowed)} tensors, e.g. '
                         f'{head(self.missing_allowed)}')
        if self.ignored:
            lines.append(f'  ignored (classification head, recomputed buffers, non-backbone '
                         f'keys): {len(self.ignored)}, e.g. {head(self.ignored)}')
        if self.unexpected:
            lines.append(f'  unexpected keys: {self.unexpected}')
        if self.missing:
            lines.append(f'  MISSING backbone keys: {self.missing}')
        lines += [f'  {note}' for note in self.notes]
        return '\n'.join(lines)


def head(keys: List[str], n: int = 3) -> str:
    """The first ``n`` keys, comma separated, with an ellipsis when there are more."""
    return ', '.join(keys[:n]) + (', ...' if len(keys) > n else '')


class CheckpointFileError(OSError, ValueError):
    """A checkpoint file that cannot be used; the message names the file and the problem.

    An ``OSError``, as mmengine's and the host backbones' loaders raise for a file that cannot be
    read (code that catches theirs catches ours), and a ``ValueError`` as before."""


#: path prefixes that mmengine's ``CheckpointLoader`` reads from somewhere else than a local file
_REMOTE = re.compile(r'^[a-zA-Z][\w+.-]*://')


def checkpoint_file_problem(path: str) -> Optional[str]:
    """What is wrong with a local checkpoint file, or None when it is a complete PyTorch
    checkpoint whose bytes are those it was written with.

    A file written by ``torch.save`` is a zip archive whose directory sits at its end, so a file
    cut short (an interrupted download, copy or save) has none; each of its records carries a
    CRC-32 of its bytes, checked here (``torch.load`` does not: a flipped byte in a tensor loads
    as a changed weight). The legacy format is a pickle, without checksums.
    """
    if not osp.exists(path):
        return 'does not exist'
    if osp.isdir(path):
        return 'is a directory, not a checkpoint file'
    size = osp.getsize(path)
    if size == 0:
        return 'is empty (0 bytes)'
    with open(path, 'rb') as f:
        start = f.read(32)
    if start.startswith(b'PK\x03\x04'):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return (f'is truncated or corrupted ({size:,} bytes and no zip directory at its end: '
                    f'an interrupted download, copy or save?)')
        if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
            return 'is a zip archive but not a PyTorch checkpoint (it holds no data.pkl)'
        damaged = _damaged_record(path, size, os.stat(path).st_mtime_ns)
        if damaged:
            return (f'is corrupted: its record {damaged} does not match the checksum stored with '
                    f'it (torch would load the changed bytes without a word); copy or download '
                    f'it again')
        return None
    if start.startswith(b'\x80'):  # a pickle: torch's legacy format
        return None
    text = start.decode('utf-8', 'replace').split('\n')[0][:24]
    return (f'is not a PyTorch checkpoint (it starts with {text!r}: a text or HTML file, such as '
            f'an error page saved in place of the weights?)')


@functools.lru_cache(maxsize=64)
def _damaged_record(path: str, size: int, mtime_ns: int) -> Optional[str]:
    """The first record of a checkpoint's zip archive whose CRC-32 (written by ``torch.save``
    for every record) does not match its bytes, or None; reads the whole file once per version
    of it (size and modification time)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:  # a record cut short
        return f'({type(e).__name__}: {e})'


def is_legacy_format(path: str) -> bool:
    """Whether a local file is in torch's legacy (pickle, pre-zip) checkpoint format."""
    try:
        with open(path, 'rb') as f:
            return f.read(1) == b'\x80'
    except OSError:
        return False


#: terminal colour codes (torch's weights-only refusal carries some)
_ANSI = re.compile(r'\x1b\[[0-9;]*m')


def load_checkpoint_file(filename: str, what: str = 'checkpoint', map_location='cpu',
                         weights_only: Optional[bool] = None, logger=None) -> dict:
    """Load a checkpoint file as mmengine's ``CheckpointLoader`` does (local path or URL), with one
    clear error naming the file and the problem when it cannot be used.

    Args:
        filename: A local path or any mmengine-supported URL.
        what: What the file is, for the message ('pretrained weights', 'delta checkpoint' ...).
        map_location: As ``torch.load``.
        weights_only: False to unpickle arbitrary objects (only for files you trust: the
            checkpoints of old OpenMMLab versions hold mmcv objects); None: a local file is read
            weights-only (the types mmengine writes allowed, ``mona_mm.compat``), a URL through
            mmengine's loader.

    Raises:
        CheckpointFileError: The file is missing, empty, truncated, not a checkpoint, unreadable
            or holds no dict.
    """
    if not _REMOTE.match(filename):
        problem = checkpoint_file_problem(osp.expanduser(filename))
        if problem:
            raise CheckpointFileError(f'The {what} {filename} {problem}.')
    try:
        if weights_only is False:
            checkpoint = torch.load(osp.expanduser(filename), map_location=map_location,
                                    weights_only=False)
        elif not _REMOTE.match(filename):
            # weights only, always: mmengine 0.10.12 (the OneDL fork) falls back to unpickling
            # anything when that fails, which would run a checkpoint's code without a word
            checkpoint = torch.load(osp.expanduser(filename), map_location=map_location,
                                    weights_only=True)
        else:
            checkpoint = CheckpointLoader.load_checkpoint(filename, map_location=map_location,
                                                          logger=logger)
    except Exception as e:  # torch's unpickler and zip reader raise many types
        # the whole of the reason (torch's weights-only refusal says on later lines which
        # global it met and how to allow it), without the terminal colour codes it may carry
        reason = _ANSI.sub('', str(e)).strip() or type(e).__name__
        if not _REMOTE.match(filename) and is_legacy_format(osp.expanduser(filename)):
            raise CheckpointFileError(
                f'The {what} {filename} is in PyTorch\'s legacy format (a pickle, not a zip '
                f'archive: torch before 1.6, or _use_new_zipfile_serialization=False) and could '
                f'not be read: cut short (such a file has no checksums or end marker: copy or '
                f'download it again), or holding more than plain tensors, which the weights-only '
                f'loader refuses; if you trust the file, save it again in the current format: '
                f'python -c "import torch; torch.save(torch.load(\'{filename}\', '
                f'weights_only=False), \'{osp.splitext(filename)[0]}_zip.pth\')". torch said: '
                f'{type(e).__name__}: {reason}') from e
        raise CheckpointFileError(f'The {what} {filename} could not be read '
                                  f'({type(e).__name__}: {reason}).') from e
    if not isinstance(checkpoint, dict):
        raise CheckpointFileError(f'The {what} {filename} holds a {type(checkpoint).__name__}, '
                                  f'not a checkpoint dict.')
    return checkpoint


def read_checkpoint(checkpoint: Union[str, dict], logger=None,
                    what: str = 'pretrained weights') -> Dict[str, torch.Tensor]:
    """Load a checkpoint file (any mmengine-supported path/URL) and unwrap its state dict
    (under ``state_dict``, ``model`` or ``module``; a ``module.`` prefix is removed).

    Raises:
        CheckpointFileError: The file cannot be used or holds no state dict (naming the file).
    """
    name = checkpoint if isinstance(checkpoint, str) else 'checkpoint dict'
    if isinstance(checkpoint, str):
        checkpoint = load_checkpoint_file(checkpoint, what, logger=logger)
    for key in ('state_dict', 'model', 'module'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    if not isinstance(checkpoint, dict) or not checkpoint or not any(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise CheckpointFileError(f'The {what} {name} holds no state dict (expected a dict of '
                                  f'tensors, or one under "state_dict" / "model").')
    return OrderedDict((k[7:] if k.startswith('module.') else k, v)
                       for k, v in checkpoint.items())


def split_backbone_prefix(state_dict: Dict[str, torch.Tensor]):
    """A detector/segmentor checkpoint's ``backbone.`` part, without the prefix.

    Returns:
        tuple: ``(state_dict, ignored_keys, is_whole_model)``; a file without ``backbone.`` keys
        comes back unchanged.
    """
    if not any(k.startswith('backbone.') for k in state_dict):
        return state_dict, [], False
    ignored = [k for k in state_dict if not k.startswith('backbone.')]
    return OrderedDict((k[9:], v) for k, v in state_dict.items()
                       if k.startswith('backbone.')), ignored, True


def load_into(model: nn.Module,
              state_dict: Dict[str, torch.Tensor],
              report: LoadReport,
              adapt: Optional[Adapt] = None,
              may_lack: Callable[[str], bool] = lambda key: False,
              strict: bool = True,
              logger: Optional[MMLogger] = None) -> LoadReport:
    """Load ``state_dict`` (already in the backbone's key layout) into ``model``.

    Args:
        model: A tuned backbone (it has ``adapter_param_names`` and ``out_norm_names()``).
        state_dict: Backbone keys to tensors.
        report: The report to fill (``source_format`` and ``ignored`` set by the family).
        adapt: How the family adapts a tensor whose shape differs (see :data:`Adapt`).
        may_lack: Family-specific keys a checkpoint may lack (besides adapters and output norms).
        strict: A missing pretrained weight is an error.

    Raises:
        ValueError: shapes that do not fit (another architecture), naming each key; with
            ``strict``, pretrained keys the checkpoint lacks.
    """
    logger = logger or MMLogger.get_current_instance()
    family = report.family
    own = model.state_dict()
    state_dict = OrderedDict(state_dict)
    mismatched = []
    for key, value in list(state_dict.items()):
        if key not in own or value.shape == own[key].shape:
            continue
        new = adapt(key, value, own[key].shape) if adapt is not None else value
        if new is None:
            report.ignored.append(key)
            del state_dict[key]
        elif new.shape != own[key].shape:
            mismatched.append(f'{key}: checkpoint {tuple(value.shape)} vs model '
                              f'{tuple(own[key].shape)}')
        else:
            state_dict[key] = new
            report.resized.append(key)
    if mismatched:
        raise ValueError(
            f'The checkpoint does not fit this {family} ({len(mismatched)} shape mismatches; '
            f'wrong arch or size settings?):\n  ' + '\n  '.join(mismatched[:20]))

    result = model.load_state_dict(state_dict, strict=False)
    report.unexpected = sorted(result.unexpected_keys)
    out_norms = model.out_norm_names()
    for key in sorted(result.missing_keys):
        allowed = key in model.adapter_param_names or key in out_norms or may_lack(key)
        (report.missing_allowed if allowed else report.missing).append(key)
    report.loaded = sorted(k for k in state_dict if k in own)
    print_log(report.summary(), logger=logger)
    if report.missing and strict:
        raise ValueError(
            f'{len(report.missing)} backbone weights are missing from the checkpoint, e.g. '
            f'{head(report.missing, 5)}. Is it a {family} checkpoint of this architecture? To '
            f'start those weights from scratch on purpose, set strict_pretrained=False.')
    children = {name for name, _ in model.named_children()}
    deeper = [k for k in report.unexpected if k.split('.')[0] in children]
    if deeper:
        # keys inside the backbone's own modules that the model lacks: most often a deeper or
        # wider model of the family (Swin-S/B weights in a Swin-T config), whose extra blocks
        # would otherwise be dropped without a word
        message = (f'{len(deeper)} keys of the checkpoint are not in this {family}, e.g. '
                   f'{head(deeper, 5)}: is it a checkpoint of a larger model (more blocks or '
                   f'stages, other adapters)? Check `arch`/`depths` and `tuning`')
        if strict:
            raise ValueError(f'{message}; to load the rest on purpose, set '
                             f'strict_pretrained=False.')
        print_log(f'{message}; with strict_pretrained=False they are left out.', logger=logger,
                  level=logging.WARNING)
    elif report.unexpected:
        print_log(f'{len(report.unexpected)} keys of the checkpoint belong to no module of this '
                  f'{family} and are left out, e.g. {head(report.unexpected, 5)}.', logger=logger,
                  level=logging.WARNING)
    return report


def resize_grid(table: torch.Tensor, src_hw: Sequence[int], dst_hw: Sequence[int],
                mode: str = 'bicubic') -> torch.Tensor:
    """Resize a table whose rows lie on a grid, bicubically (align_corners=False, as mmdet, mmseg
    and timm resize position tables): Swin's relative-position bias tables for another window,
    a ViT's position embeddings for another image size.

    Args:
        table: (H * W, C), rows in row-major order of the ``src_hw`` grid.
        src_hw: (H, W) of the table's grid.
        dst_hw: (h, w) wanted.
        mode: ``F.interpolate``'s mode. Default: 'bicubic'.

    Returns:
        (h * w, C), rows in row-major order.
    """
    channels = table.shape[-1]
    grid = table.reshape(1, *src_hw, channels).permute(0, 3, 1, 2).contiguous()
    grid = F.interpolate(grid, size=tuple(dst_hw), mode=mode,
                         align_corners=False if mode in ('linear', 'bilinear', 'bicubic') else None)
    return grid.permute(0, 2, 3, 1).reshape(-1, channels).contiguous()
