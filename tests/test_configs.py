"""The shipped configs: every leaf loads and builds its model (no weights are downloaded: building
does not call init_weights), names the tuning method of its file name, imports what its host
needs, and keeps the layout of configs/ (docs/design.md): the task bases in configs/_base_/ hold
everything but `tuning`, a method leaf sets only that, and no config inherits a leaf."""
import ast
import copy
import functools
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from mona_mm.runner import build_model
from mona_mm.tuning import available_methods

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs')
ALL = sorted(glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True))
BASES = [p for p in ALL if '_base_' in osp.relpath(p, CONFIG_DIR).split(osp.sep)]
LEAVES = [p for p in ALL if p not in BASES]
TINY = [p for p in LEAVES if osp.basename(osp.dirname(p)) == 'tiny']
METHOD_LEAVES = [p for p in LEAVES if p not in TINY]
# the folders with one leaf per registered tuning method (README: "one leaf config per method")
EVERY_METHOD = {
    'coco': 'cascade-mask-rcnn_swin-b-',
    'ade20k': 'upernet_swin-l-',
    'voc': 'retinanet_swin-l-',
    'dota': 'oriented-rcnn-le90_swin-b-',
}
# the tiny base of each tiny data set's family (configs/_base_/tiny/)
TINY_FAMILY = {'coco': 'detection', 'voc0712': 'detection', 'ade20k': 'segmentation',
               'potsdam': 'segmentation', 'loveda': 'segmentation', 'dota': 'oriented',
               'star': 'oriented'}


@functools.lru_cache(maxsize=None)
def load(path: str) -> Config:
    """A config, parsed once for all the tests that read it (a test that changes it copies it)."""
    return Config.fromfile(path)


def rel(path: str) -> str:
    return osp.relpath(path, ROOT)


def method_in_name(path: str) -> str:
    """The method a leaf's file name names: 'partial-1' in ``upernet_swin-l-partial-1_8xb2...``,
    'mona' in ``mask_rcnn_swin_mona_coco.py``, ``upernet_swin-mona_tiny-ade20k.py`` and
    ``upernet_vit-b16-mona_mln_8xb2...``."""
    match = re.search(r'(?:swin|vit)[-_](?:[bl]\d*-)?([a-z]+(?:-\d+)?)_', osp.basename(path))
    assert match, f'{rel(path)}: no tuning method in the file name'
    return match.group(1)


def bases_of(path: str) -> list:
    """The `_base_` entries of a config file, as written (relative paths or `pkg::` paths)."""
    tree = ast.parse(open(path).read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) == '_base_':
            value = ast.literal_eval(node.value)
            return [value] if isinstance(value, str) else list(value)
    return []


def own_settings(path: str) -> dict:
    """What a method leaf itself sets (its `_base_` line left out). Method leaves are plain
    literals; one that computes from `_base_` fails here with a NameError naming the variable."""
    tree = ast.parse(open(path).read())
    tree.body = [n for n in tree.body
                 if not (isinstance(n, ast.Assign)
                         and getattr(n.targets[0], 'id', None) == '_base_')]
    settings = {}
    exec(compile(tree, path, 'exec'), {'dict': dict}, settings)  # noqa: S102
    return settings


def test_there_are_configs():
    assert osp.join(CONFIG_DIR, 'mask_rcnn_swin_mona_coco.py') in LEAVES
    assert len(TINY) == 10 and len(METHOD_LEAVES) > 40


@pytest.mark.parametrize('path', LEAVES, ids=rel)
def test_config_builds(path):
    cfg = copy.deepcopy(load(path))
    # rotated detection imports mona_mm.rotate (STARDataset and mmrotate's shims, also under a
    # trainer other than ours); detection and segmentation import mona_mm, not the rotate shims
    imports = cfg.custom_imports['imports']
    rotated = cfg.get('default_scope') == 'mmrotate'
    assert ('mona_mm.rotate' in imports) == rotated, imports
    assert 'mona_mm' in imports or rotated, imports
    with torch.device('meta'):  # the real modules, without filling their weights
        model = build_model(cfg)
    backbone = model.backbone
    assert type(backbone).__name__ in ('SwinMona', 'ViTMona')
    assert backbone.tuning_methods, 'every config names its tuning method'
    trainable = {n for n, p in backbone.named_parameters() if p.requires_grad}
    assert trainable == backbone.trainable_param_names


@pytest.mark.parametrize('path', LEAVES, ids=rel)
def test_leaf_tunes_with_the_method_of_its_name(path):
    tuning = load(path).model.backbone.tuning
    name = method_in_name(path)
    kind, _, blocks = name.partition('-')
    assert tuning.type.lower() == kind, f'{rel(path)} names {name!r} but tunes with {tuning}'
    if blocks:  # Partial-k
        assert tuning.get('num_blocks', 1) == int(blocks), f'{rel(path)}: {tuning}'


@pytest.mark.parametrize('path', BASES, ids=rel)
def test_bases_leave_tuning_to_the_leaves(path):
    """A task base holds everything but the method, so no argument of one method can reach a
    leaf of another through a merge (a base's Mona bottleneck in a LoRA leaf's `tuning`)."""
    model = load(path).get('model', {})
    assert 'tuning' not in model.get('backbone', {}), f'{rel(path)} sets a tuning method'


@pytest.mark.parametrize('path', ALL, ids=rel)
def test_no_config_inherits_a_leaf(path):
    for base in bases_of(path):
        if '::' in base:  # the host library's own config (mmdet::, mmseg::, mmrotate::)
            continue
        target = osp.normpath(osp.join(osp.dirname(path), base))
        assert target in BASES, f'{rel(path)} inherits {base}, which is not a base'


@pytest.mark.parametrize('path', METHOD_LEAVES, ids=rel)
def test_method_leaf_sets_only_tuning(path):
    """A method leaf names its base and its method; the segmentation Mona leaves also set the
    paper's Mona recipe for segmentation (drop-path 0.2, lr 3e-4: docs/spec.md section 5)."""
    bases = bases_of(path)
    assert len(bases) == 1 and '/_base_/' in f'/{bases[0]}', f'{rel(path)}: {bases}'
    settings = own_settings(path)
    segmentation_mona = method_in_name(path) == 'mona' and 'upernet' in osp.basename(path)
    allowed = {'model', 'optim_wrapper'} if segmentation_mona else {'model'}
    assert set(settings) <= allowed, f'{rel(path)} sets {sorted(settings)}'
    assert set(settings['model']) == {'backbone'}, f'{rel(path)}: {settings["model"]}'
    backbone = settings['model']['backbone']
    allowed = {'tuning', 'drop_path_rate'} if segmentation_mona else {'tuning'}
    assert 'tuning' in backbone and set(backbone) <= allowed, f'{rel(path)}: {backbone}'
    if 'optim_wrapper' in settings:
        assert settings['optim_wrapper'] == dict(optimizer=dict(lr=3e-4)), rel(path)


@pytest.mark.parametrize('folder', sorted(EVERY_METHOD))
def test_every_method_has_a_leaf(folder):
    prefix = EVERY_METHOD[folder]
    named = {method_in_name(p).partition('-')[0]
             for p in glob.glob(osp.join(CONFIG_DIR, folder, prefix + '*.py'))}
    assert named == {m.lower() for m in available_methods()}, folder


@pytest.mark.parametrize('path', TINY, ids=rel)
def test_tiny_config_inherits_its_full_size_base_and_family(path):
    """A tiny config runs its full-size config's code path: it inherits that task base, plus the
    tiny base of its family for the small Swin, loading and schedule."""
    full, tiny = bases_of(path)
    assert full.startswith('../_base_/') and full.count('/') == 2, f'{rel(path)}: {full}'
    data = re.search(r'_tiny-(\w+)\.py$', osp.basename(path)).group(1)
    assert tiny == f'../_base_/tiny/{TINY_FAMILY[data]}.py', f'{rel(path)}: {tiny}'


#: the hooks every shipped config carries (docs/reliability.md), in this order: the docs turn
#: DivergenceHook off by its place (--cfg-options custom_hooks.2.enabled=False)
CUSTOM_HOOKS = ['DeltaTuningHook', 'RNGStateHook', 'DivergenceHook']


def _task_bases_and_tiny_configs() -> list:
    """What decides a leaf's hooks: a method leaf sets only `tuning` (see above), so its task
    base's; a tiny config may set more, so itself (one parse each instead of every leaf)."""
    bases = {osp.normpath(osp.join(osp.dirname(p), bases_of(p)[0])) for p in METHOD_LEAVES}
    return sorted(bases) + TINY


@pytest.mark.parametrize('path', _task_bases_and_tiny_configs(), ids=rel)
def test_config_carries_the_reliability_hooks_and_cpu_setting(path):
    """Every config checks its freezing, restores the RNG on resume, stops on divergence and
    writes checkpoints atomically; only the tiny quick-start configs run on a CPU unasked."""
    cfg = load(path)
    assert [h['type'] for h in cfg.custom_hooks] == CUSTOM_HOOKS, rel(path)
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook', rel(path)
    assert cfg.get('allow_cpu', False) == (path in TINY), rel(path)
