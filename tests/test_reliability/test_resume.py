"""Checkpoint writes and --resume: a run killed at any moment (also while a checkpoint is written,
under max_keep_ckpts=1) resumes from the newest complete checkpoint and reaches the weights of an
uninterrupted run; a checkpoint to resume from that is missing, partial, not a checkpoint or of
another model gets one error naming it; load_from of another model is reported."""
import os
import re
import shutil
import signal

import pytest
import torch

from mona_mm.checkpoints import CheckpointFileError, CheckpointMismatchError, find_resume_checkpoint
from mona_mm.runner import run_train, set_resume
from tests.test_reliability.toy import run_forked, toy_config


def weights(path):
    return torch.load(path, map_location='cpu')['state_dict']


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    work = tmp_path_factory.mktemp('straight')
    run_train(toy_config(work))
    return weights(work / 'epoch_3.pth')


@pytest.mark.parametrize('moment,resumes_from', [
    ('checkpoint', 'epoch_1.pth'),  # half of epoch_2.pth written
    ('pointer', 'epoch_2.pth'),  # epoch_2.pth complete, last_checkpoint still names epoch_1
])
def test_killed_at_any_moment_resumes_from_the_newest_complete_checkpoint(
        tmp_path, uninterrupted, moment, resumes_from):
    hook = dict(type='FaultHook', kill_in_save=2) if moment == 'checkpoint' else None

    def train():
        if moment == 'pointer':  # killed between the rename and the last_checkpoint update
            import mona_mm.hooks.checkpoint_hook as module
            module.write_text_atomic = lambda *a: os.kill(os.getpid(), signal.SIGKILL) \
                if 'epoch_2' in a[0] else None
        run_train(toy_config(tmp_path, hooks=[hook] if hook else []))

    code, sig, error, _ = run_forked(train)
    assert sig == signal.SIGKILL, (code, error)
    cfg = set_resume(toy_config(tmp_path), 'auto')
    assert cfg.resume and cfg.load_from == str(tmp_path / resumes_from)
    run_train(cfg)
    resumed = weights(tmp_path / 'epoch_3.pth')
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[k], v) for k, v in uninterrupted.items())
    # the partial file of the killed write is gone; a kill between the rename and the removal of
    # the older checkpoint leaves that one (never deleted unless known to be superseded)
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]


def test_resume_passes_over_a_partial_file_named_by_last_checkpoint(tmp_path):
    """What mmengine's own CheckpointHook leaves after a kill mid-write: last_checkpoint naming a
    partial file (or a deleted one)."""
    run_train(toy_config(tmp_path, max_epochs=2, checkpoint=dict(max_keep_ckpts=2)))
    data = (tmp_path / 'epoch_2.pth').read_bytes()
    (tmp_path / 'epoch_2.pth').write_bytes(data[:len(data) // 3])
    path, notes = find_resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'epoch_1.pth')
    assert notes == [f'{tmp_path / "epoch_2.pth"} is truncated or corrupted ({len(data) // 3:,} '
                     f'bytes and no zip directory at its end: an interrupted download, copy or '
                     f'save?)']
    os.remove(tmp_path / 'epoch_2.pth')
    assert find_resume_checkpoint(str(tmp_path))[0] == str(tmp_path / 'epoch_1.pth')


@pytest.mark.parametrize('problem', ['missing', 'truncated', 'text', 'flipped byte'])
def test_resume_from_a_broken_file_names_it(tmp_path, problem):
    path = tmp_path / 'epoch_1.pth'
    if problem != 'missing':
        run_train(toy_config(tmp_path, max_epochs=1))
        data = bytearray(path.read_bytes())
        if problem == 'flipped byte':  # a weight's bytes changed: torch.load would not notice
            data[weight_byte_offset(path)] ^= 0x01
        path.write_bytes(bytes(data[:100]) if problem == 'truncated' else (
            b'<html>Not Found</html>' if problem == 'text' else bytes(data)))
    expected = {'missing': 'does not exist', 'truncated': 'is truncated or corrupted',
                'text': "is not a PyTorch checkpoint (it starts with '<html>Not Found</html>'",
                'flipped byte': 'is corrupted: its record'}
    with pytest.raises(CheckpointFileError, match=re.escape(
            f'The checkpoint to resume from {path} {expected[problem]}')):
        set_resume(toy_config(tmp_path / 'new'), str(path))


def weight_byte_offset(path) -> int:
    """The offset of the first byte of the first tensor's data in a torch zip checkpoint (after
    the record's local header: 30 bytes, the name, the extra field)."""
    import struct
    import zipfile
    with zipfile.ZipFile(path) as archive:
        record = next(i for i in archive.infolist() if i.filename.endswith('/data/0'))
    header = path.read_bytes()[record.header_offset:record.header_offset + 30]
    name_length, extra_length = struct.unpack('<HH', header[26:30])
    return record.header_offset + 30 + name_length + extra_length


def other_model_checkpoint(tmp_path):
    """A complete mmengine checkpoint of another toy model (another layer width)."""
    run_train(toy_config(tmp_path / 'other', max_epochs=1))
    ckpt = torch.load(tmp_path / 'other' / 'epoch_1.pth', map_location='cpu')
    ckpt['state_dict'] = {'linear.weight': torch.zeros(2, 4), 'linear.bias': torch.zeros(1),
                          'head.weight': torch.zeros(1)}  # the bias fits
    path = tmp_path / 'other.pth'
    torch.save(ckpt, path)
    return path


def test_resume_from_another_model_is_an_error(tmp_path):
    path = other_model_checkpoint(tmp_path)
    cfg = set_resume(toy_config(tmp_path / 'run'), str(path))
    with pytest.raises(CheckpointMismatchError,
                       match=f'Cannot resume: The checkpoint {path} does not fit the model of '
                             r'this config: 1 of its tensors are not in the model \(e.g. '
                             r'head.weight\); 1 tensors differ in shape'):
        run_train(cfg)


def test_load_from_another_model_is_reported_and_trains(tmp_path):
    """load_from keeps mmengine's non-strict behaviour (fine-tuning from a related model), with
    our report at WARNING level in the log."""
    path = other_model_checkpoint(tmp_path)
    cfg = toy_config(tmp_path / 'run', max_epochs=1, load_from=str(path))
    run_train(cfg)
    log = next((tmp_path / 'run').glob('*/*.log')).read_text()
    assert f'WARNING - The checkpoint {path} does not fit the model of this config' in log
    assert 'load_from loads it non-strictly' in log
    shutil.rmtree(tmp_path / 'run')


def test_load_from_a_broken_file_names_it(tmp_path):
    (tmp_path / 'w.pth').write_text('hello')
    with pytest.raises(CheckpointFileError, match='The load_from checkpoint .*w.pth is not a '
                                                  'PyTorch checkpoint'):
        run_train(toy_config(tmp_path / 'run', load_from=str(tmp_path / 'w.pth')))


def test_load_from_a_file_of_which_nothing_fits_is_an_error(tmp_path):
    """A state dict of which no tensor fits the model would leave it all at its initialisation
    (mmengine: one warning among hundreds of lines)."""
    path = tmp_path / 'unrelated.pth'
    torch.save({'state_dict': {'encoder.weight': torch.zeros(3, 3), 'decoder.bias': torch.zeros(3)},
                'meta': {}}, path)
    with pytest.raises(CheckpointMismatchError, match='None of its tensors fits the model, so '
                                                      'nothing would be loaded'):
        run_train(toy_config(tmp_path / 'run', max_epochs=1, load_from=str(path)))


@pytest.mark.parametrize('resume', [False, True])
def test_a_pickled_list_as_load_from_or_resume_is_named(tmp_path, resume):
    path = tmp_path / 'list.pth'
    torch.save([torch.zeros(2)], path)
    cfg = toy_config(tmp_path / 'run', max_epochs=1, load_from=str(path), resume=resume)
    with pytest.raises(CheckpointFileError, match=re.escape(
            f'The checkpoint {path} holds a list, not a checkpoint dict')):
        run_train(cfg)
