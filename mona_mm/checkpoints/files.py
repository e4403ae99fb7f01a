"""Checkpoint files on disk: written atomically, never over their own input, and found again
after a crash.

* :func:`save_atomic` writes a temporary file beside the target, flushes it to disk and renames
  it over the target: a reader (or a ``--resume`` after a SIGKILL) sees either the old complete
  file or the new complete file, never a partial one.
* :func:`refuse_same_file` stops a tool whose output is its own input.
* :func:`find_resume_checkpoint` is what ``--resume`` without a path resumes from: the checkpoint
  ``last_checkpoint`` names if it is complete, else the newest complete ``epoch_N.pth`` /
  ``iter_N.pth`` beside it (a run killed by a stock mmengine ``CheckpointHook`` mid-write leaves
  ``last_checkpoint`` naming a deleted file and a partial new one).

Reading a file with one clear error for each problem (:func:`load_checkpoint_file`) lives with
the pretrained loading that the backbones need (``mona_mm.models.backbones.pretrained``).
"""
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

import torch

from mona_mm.models.backbones.pretrained import CheckpointFileError, checkpoint_file_problem

#: temporary files of :func:`save_atomic`: hidden, never matched by the checkpoint patterns
TMP_SUFFIX = '.tmp'
_NUMBERED = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')


def temporary_path(path: str) -> str:
    """The temporary file that :func:`save_atomic` writes before renaming it to ``path``."""
    folder, name = osp.split(path)
    return osp.join(folder, f'.{name}.{os.getpid()}{TMP_SUFFIX}')


def fsync_file(path: str) -> None:
    """Flush a written file's data to the disk (a rename after a power loss must not expose an
    empty file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomic(tmp: str, path: str) -> None:
    """Flush ``tmp`` and rename it to ``path`` (atomic on POSIX within one file system)."""
    fsync_file(tmp)
    os.replace(tmp, path)
    try:  # the rename itself reaches the disk with the folder's entry
        fd = os.open(osp.dirname(osp.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not fsync folders
        pass
    finally:
        os.close(fd)


def save_atomic(obj, path: str) -> None:
    """``torch.save(obj, path)``, atomically (temporary file, flush, rename)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = temporary_path(path)
    try:
        torch.save(obj, tmp)
        replace_atomic(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def write_text_atomic(text: str, path: str) -> None:
    """Write a small text file (``last_checkpoint``) atomically."""
    tmp = temporary_path(path)
    try:
        with open(tmp, 'w') as f:
            f.write(text)
        replace_atomic(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def refuse_same_file(src: str, dst: str, tool: str) -> None:
    """Stop a tool that would write over its own input.

    Raises:
        ValueError: ``dst`` is ``src`` (same path, or a link to the same file), or a directory.
    """
    if osp.isdir(dst):
        raise ValueError(f'{tool}: the output {dst} is a directory; give a file path, such as '
                         f'{osp.join(dst, osp.basename(src))}.')
    same = osp.abspath(src) == osp.abspath(dst) or (
        osp.exists(src) and osp.exists(dst) and osp.samefile(src, dst))
    if same:
        raise ValueError(f'{tool}: the output {dst} is the input checkpoint; it would be '
                         f'overwritten. Write to another file.')


def _step(path: str) -> int:
    match = _NUMBERED.match(osp.basename(path))
    return int(match.group(1)) if match else -1


def find_resume_checkpoint(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The checkpoint ``--resume`` (without a path) continues from.

    Args:
        work_dir: The run's work dir (holding ``last_checkpoint``).

    Returns:
        tuple: ``(path or None, notes)``; ``notes`` say which files were passed over and why.
    """
    notes = []
    last = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            last = f.read().strip() or None
        if last is None:
            notes.append(f'{pointer} is empty')
    folders = {work_dir} | ({osp.dirname(last)} if last else set())
    candidates = {osp.join(d, n) for d in folders if osp.isdir(d) for n in os.listdir(d)
                  if _NUMBERED.match(n)}
    if last:
        candidates.add(last)
    problems = {p: checkpoint_file_problem(p) for p in candidates}
    complete = [p for p, problem in problems.items() if problem is None]
    newest = max(complete, key=lambda p: (_step(p), osp.getmtime(p), p == last), default=None)
    floor = _step(newest) if newest else -1
    notes += [f'{p} {problem}' for p, problem in sorted(problems.items(), key=lambda i: _step(i[0]))
              if problem and (p == last or _step(p) >= floor)]
    if last and newest and newest != last and not notes:
        notes.append(f'{pointer} names {last}, but {newest} is newer')
    return newest, notes


__all__ = ['CheckpointFileError', 'TMP_SUFFIX', 'checkpoint_file_problem',
           'find_resume_checkpoint', 'refuse_same_file', 'replace_atomic', 'save_atomic',
           'temporary_path', 'write_text_atomic']
