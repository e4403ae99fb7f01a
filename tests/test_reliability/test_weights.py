"""Pretrained weights, delta and base files: each problem with a file gets one error naming the
file and the problem; weights of a larger Swin in a smaller config are an error (a warning with
strict_pretrained=False); init_cfg as a list (mmengine allows it) loads."""
import logging
import re

import pytest
import torch

from mona_mm.checkpoints import CheckpointFileError, load_delta, make_delta
from mona_mm.models import SwinMona
from tests.conftest import TINY_SWIN
from tests.helpers import microsoft_swin_state_dict
from tests.test_reliability.logcapture import logged

BROKEN = {
    'missing': (None, 'does not exist'),
    'empty': (b'', 'is empty (0 bytes)'),
    'truncated': ('half', 'is truncated or corrupted'),
    'text': (b'<!DOCTYPE html><html>rate limited</html>',
             "is not a PyTorch checkpoint (it starts with '<!DOCTYPE html><html>rat'"),
    'no tensors': ('dict', 'holds no state dict'),
    # one bit of a weight changed (a damaged copy): torch.load reads it without a word
    'flipped byte': ('flip', 'is corrupted: its record'),
    # torch's legacy (pickle) format, cut short: torch said "Weights only load failed ...
    # GLOBAL torch._utils._rebui was not an allowed global"
    'legacy cut': ('legacy', "is in PyTorch's legacy format (a pickle, not a zip archive"),
}


def broken_file(tmp_path, kind: str) -> str:
    path = tmp_path / f'{kind.replace(" ", "_")}.pth'
    content = BROKEN[kind][0]
    if content == 'half':
        torch.save({'model': microsoft_swin_state_dict(**TINY_SWIN)}, path)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif content == 'flip':
        torch.save({'model': microsoft_swin_state_dict(**TINY_SWIN)}, path)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01  # inside a tensor's record
        path.write_bytes(bytes(data))
    elif content == 'legacy':
        torch.save({'model': microsoft_swin_state_dict(**TINY_SWIN)}, path,
                   _use_new_zipfile_serialization=False)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif content == 'dict':
        torch.save({'meta': {'note': 'no weights'}}, path)
    elif content is not None:
        path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize('kind', sorted(BROKEN))
def test_pretrained_file_problems_name_the_file(tmp_path, kind):
    """As a config's init_cfg reaches it: SwinMona.init_weights."""
    path = broken_file(tmp_path, kind)
    model = SwinMona(tuning='Mona', init_cfg=dict(type='Pretrained', checkpoint=path),
                     **TINY_SWIN)
    with pytest.raises(CheckpointFileError,
                       match=re.escape(f'The pretrained weights {path} {BROKEN[kind][1]}')):
        model.init_weights()


def test_a_whole_legacy_format_file_loads(tmp_path):
    """A legacy-format file of plain tensors is read (no checksums to check, but nothing
    wrong with it)."""
    path = tmp_path / 'legacy.pth'
    weights = microsoft_swin_state_dict(seed=2, **TINY_SWIN)
    torch.save({'model': weights}, path, _use_new_zipfile_serialization=False)
    model = SwinMona(tuning='Mona', init_cfg=dict(type='Pretrained', checkpoint=str(path)),
                     **TINY_SWIN)
    model.init_weights()
    torch.testing.assert_close(model.patch_embed.projection.weight,
                               weights['patch_embed.proj.weight'])


def test_init_cfg_as_a_list_loads(tmp_path):
    """mmengine allows init_cfg as a list of dicts; a Pretrained entry in it is loaded."""
    path = tmp_path / 'swin.pth'
    weights = microsoft_swin_state_dict(seed=1, **TINY_SWIN)
    torch.save({'model': weights}, path)
    model = SwinMona(tuning='Mona', init_cfg=[dict(type='Pretrained', checkpoint=str(path))],
                     **TINY_SWIN)
    model.init_weights()
    reference = SwinMona(tuning='Mona', **TINY_SWIN)
    reference.load_pretrained(str(path))
    own = model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in reference.state_dict().items()
               if '.mona' not in k)


def deeper_swin_file(tmp_path) -> str:
    """A Swin with one more block in stage 2 than TINY_SWIN (Swin-S is Swin-T with 18 blocks in
    stage 2 instead of 6): same widths, extra keys."""
    path = tmp_path / 'deeper.pth'
    cfg = dict(TINY_SWIN, depths=(2, 2, 3, 2))
    torch.save({'model': microsoft_swin_state_dict(**cfg)}, path)
    return str(path)


def test_weights_of_a_larger_swin_are_an_error(tmp_path):
    path = deeper_swin_file(tmp_path)
    model = SwinMona(tuning='Mona', init_cfg=dict(type='Pretrained', checkpoint=path),
                     **TINY_SWIN)
    with pytest.raises(ValueError, match=r'keys of the checkpoint are not in this Swin, e\.g\. '
                                         r'stages\.2\.blocks\.2\..*larger model.*'
                                         r'strict_pretrained=False'):
        model.init_weights()


def test_weights_of_a_larger_swin_warn_when_not_strict(tmp_path):
    path = deeper_swin_file(tmp_path)
    model = SwinMona(tuning='Mona', strict_pretrained=False,
                     init_cfg=dict(type='Pretrained', checkpoint=path), **TINY_SWIN)
    with logged() as records:
        model.init_weights()
    assert any(level == logging.WARNING and 'stages.2.blocks.2.' in text and
               'they are left out' in text for level, text in records), records


class Detector(torch.nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.backbone = SwinMona(tuning='Mona', **dict(TINY_SWIN, **kw))
        self.neck = torch.nn.Linear(2, 2)


@pytest.mark.parametrize('which,kind', [('delta', 'truncated'), ('base', 'text')])
def test_delta_and_base_file_problems_name_the_file(tmp_path, which, kind):
    base = tmp_path / 'base.pth'
    torch.save({'model': microsoft_swin_state_dict(seed=2, **TINY_SWIN)}, base)
    model = Detector(init_cfg=dict(type='Pretrained', checkpoint=str(base)))
    model.backbone.init_weights()
    delta_path = tmp_path / 'delta.pth'
    torch.save(make_delta({'state_dict': model.state_dict()}, model), delta_path)
    bad = broken_file(tmp_path, kind)
    what = 'delta checkpoint' if which == 'delta' else 'base weights'
    with pytest.raises(CheckpointFileError, match=re.escape(f'The {what} {bad} '
                                                            f'{BROKEN[kind][1]}')):
        if which == 'delta':
            load_delta(Detector(), bad, base=str(base))
        else:
            load_delta(Detector(), str(delta_path), base=bad)
