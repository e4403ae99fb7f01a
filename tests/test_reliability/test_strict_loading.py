"""Loading a full or merged checkpoint for evaluation or inference is strict (tools/test.py,
``init_model``), naming the first few keys and the likely cause; the converters refuse what they
do not convert and never write over their input."""
import copy
import os.path as osp
import runpy
import sys

import pytest
import torch
from mmengine.config import Config

from mona_mm.apis import init_model
from mona_mm.checkpoints import (
    CheckpointFileError,
    CheckpointMismatchError,
    convert_official_mona,
    make_delta,
)
from mona_mm.models import merge_adapters
from mona_mm.runner import build_model
from tests.conftest import TINY_SWIN
from tests.helpers import ROOT, microsoft_swin_state_dict

TINY_COCO = osp.join(ROOT, 'configs', 'tiny', 'mask-rcnn_swin-mona_tiny-coco.py')
_PARSED = {}


def coco_cfg() -> Config:
    """The tiny COCO config, parsed once (a second each: mmdet's bases are read)."""
    if 'cfg' not in _PARSED:
        _PARSED['cfg'] = Config.fromfile(TINY_COCO)
    return copy.deepcopy(_PARSED['cfg'])


def tool(name: str, *args) -> None:
    """Run a tool's main() as its command line would, in this process."""
    path = osp.join(ROOT, 'tools', name)
    old = sys.argv
    sys.argv = [path, *map(str, args)]
    try:
        runpy.run_path(path, run_name='__main__')
    finally:
        sys.argv = old


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """A full checkpoint of the tiny COCO model, its merged form, and one of another model."""
    folder = tmp_path_factory.mktemp('strict')
    torch.manual_seed(0)
    model = build_model(coco_cfg())
    full = folder / 'full.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, full)
    merged = folder / 'merged.pth'
    names = merge_adapters(model)
    torch.save({'meta': {'mona_mm_merged': names}, 'state_dict': model.state_dict()}, merged)
    other = folder / 'other.pth'  # a Fixed model (no Monas) with a 5-class head
    state = {k: v for k, v in torch.load(full)['state_dict'].items() if '.mona' not in k}
    state['roi_head.bbox_head.fc_cls.weight'] = torch.zeros(6, 256)
    torch.save({'meta': {}, 'state_dict': state}, other)
    return dict(full=full, merged=merged, other=other, folder=folder)


def test_test_tool_refuses_a_checkpoint_of_another_model(checkpoints):
    with pytest.raises(CheckpointMismatchError) as info:
        tool('test.py', TINY_COCO, checkpoints['other'], '--work-dir',
             checkpoints['folder'] / 'work')
    message = str(info.value)
    assert message.startswith(f'The checkpoint {checkpoints["other"]} does not fit the model of '
                              f'this config: ')
    assert 'tensors of the model are not in it (e.g. backbone.stages.0.blocks.0.mona1.' in message
    assert 'roi_head.bbox_head.fc_cls.weight: file (6, 256) vs model (4, 256)' in message


def test_init_model_is_strict(checkpoints):
    model = init_model(coco_cfg(), str(checkpoints['full']))  # fits: loads
    assert not model.training
    with pytest.raises(CheckpointMismatchError, match='mona1'):
        init_model(coco_cfg(), str(checkpoints['other']))


def test_merged_checkpoint_without_deploy_names_the_fix(checkpoints):
    with pytest.raises(CheckpointMismatchError,
                       match=r'merged checkpoint .*--cfg-options model\.backbone\.deploy=True'):
        init_model(coco_cfg(), str(checkpoints['merged']))
    model = init_model(coco_cfg(), str(checkpoints['merged']),
                       cfg_options={'model.backbone.deploy': True})
    assert model.backbone.deploy


def test_unmerged_checkpoint_with_deploy_names_the_fix(checkpoints):
    with pytest.raises(CheckpointMismatchError, match='deploy=True.*not merged.*merge_adapters'):
        init_model(coco_cfg(), str(checkpoints['full']),
                   cfg_options={'model.backbone.deploy': True})


@pytest.mark.parametrize('name', ['model_converters/extract_delta.py',
                                  'model_converters/merge_adapters.py',
                                  'model_converters/mona_official2mona_mm.py'])
def test_no_tool_writes_over_its_input(checkpoints, tmp_path, name):
    path = tmp_path / 'in.pth'
    path.write_bytes(checkpoints['full'].read_bytes())
    link = tmp_path / 'link.pth'
    link.symlink_to(path)
    before = path.read_bytes()
    args = [] if 'official' in name else [TINY_COCO]
    for out in (path, link):
        with pytest.raises(ValueError, match=f'the output {out} is the input checkpoint'):
            tool(name, *args, path, out)
    assert path.read_bytes() == before


def official_state(names=('my_module_1', 'my_module_2'), tensors=None) -> dict:
    """An official-code detector state dict: Microsoft Swin keys plus two adapter modules."""
    state = {f'backbone.{k}': v for k, v in microsoft_swin_state_dict(**TINY_SWIN).items()}
    tensors = tensors or ['project1.weight', 'project1.bias', 'project2.weight', 'project2.bias']
    for name in names:
        for t in tensors:
            state[f'backbone.layers.0.blocks.0.{name}.{t}'] = torch.zeros(2)
    return state


def test_converter_refuses_adapters_that_are_not_monas():
    """The official Adapter / AdaptFormer code names its modules my_module_1/2 too."""
    with pytest.raises(ValueError, match=r'2 of the 2 adapter modules are not Monas: e\.g\. '
                                         r'layers\.0\.blocks\.0\.my_module_1 holds'):
        convert_official_mona(official_state())


def test_converter_refuses_another_architecture():
    resnet = {'backbone.conv1.weight': torch.zeros(1), 'backbone.layer1.0.conv1.weight':
              torch.zeros(1), 'neck.lateral_convs.0.conv.weight': torch.zeros(1)}
    with pytest.raises(ValueError, match='not a whole Swin Transformer: it has no patch '
                                         'embedding'):
        convert_official_mona(resnet)
    with pytest.raises(ValueError, match='no Mona modules'):  # a plain Swin detector
        convert_official_mona(official_state(names=()))


def test_converter_refuses_a_delta_and_a_broken_file(checkpoints, tmp_path):
    model = build_model(coco_cfg())
    delta = tmp_path / 'delta.pth'
    torch.save(make_delta(torch.load(checkpoints['full']), model, base='x'), delta)
    with pytest.raises(ValueError, match=f'{delta} is a mona_mm delta checkpoint'):
        tool('model_converters/mona_official2mona_mm.py', delta, tmp_path / 'out.pth')
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(checkpoints['full'].read_bytes()[:1000])
    with pytest.raises(CheckpointFileError,
                       match=f'The official Mona checkpoint {cut} is truncated'):
        tool('model_converters/mona_official2mona_mm.py', cut, tmp_path / 'out.pth')
    assert not (tmp_path / 'out.pth').exists()


def test_merge_and_extract_refuse_what_they_do_not_convert(checkpoints, tmp_path):
    out = tmp_path / 'out.pth'
    with pytest.raises(ValueError, match=f'{checkpoints["merged"]} is already merged'):
        tool('model_converters/merge_adapters.py', TINY_COCO, checkpoints['merged'], out)
    delta = tmp_path / 'delta.pth'
    torch.save({'meta': {'mona_mm_delta': {'base': 'x'}}, 'state_dict': {}}, delta)
    with pytest.raises(ValueError, match=f'{delta} is already a delta checkpoint'):
        tool('model_converters/extract_delta.py', TINY_COCO, delta, out)
    with pytest.raises(ValueError, match=f'{delta} is a delta checkpoint: merge its full'):
        tool('model_converters/merge_adapters.py', TINY_COCO, delta, out)
    assert not out.exists()


def test_converters_take_a_bare_state_dict_and_refuse_a_folder_or_a_list(checkpoints, tmp_path):
    """A bare state dict (torch.save(model.state_dict())), which tools/test.py takes, is taken by
    merge_adapters.py too; a folder as the output and a pickled list as the input are named."""
    bare = tmp_path / 'bare.pth'
    torch.save(torch.load(checkpoints['full'])['state_dict'], bare)
    out = tmp_path / 'merged.pth'
    tool('model_converters/merge_adapters.py', TINY_COCO, bare, out)
    assert 'mona_mm_merged' in torch.load(out)['meta']
    with pytest.raises(ValueError, match=f'the output {tmp_path} is a directory; give a file '
                                         f'path, such as {tmp_path}/bare.pth'):
        tool('model_converters/merge_adapters.py', TINY_COCO, bare, tmp_path)
    listed = tmp_path / 'list.pth'
    torch.save([1, 2], listed)
    with pytest.raises(CheckpointFileError, match=f'The checkpoint {listed} holds a list, not a '
                                                  'checkpoint dict'):
        tool('model_converters/extract_delta.py', TINY_COCO, listed, tmp_path / 'd.pth',
             '--write-base')
