"""Plain ViTs end to end, through the README's own tools: the generated tiny ADE20K and COCO sets
(tools/misc/make_tiny_data.py), tools/train.py and tools/test.py on the tiny ViT-Mona UperNet and
Mask R-CNN (simple feature pyramid), and the parameter table of a full-size ViT config
(tools/analysis_tools/count_params.py). Few iterations each: these check the plumbing."""
import os.path as osp
import re
import sys

import pytest

from tests.helpers import ROOT, run

TINY = {
    'ade20k': osp.join(ROOT, 'configs', 'tiny', 'upernet_vit-mona_tiny-ade20k.py'),
    'coco': osp.join(ROOT, 'configs', 'tiny', 'mask-rcnn_vit-mona_tiny-coco.py'),
}
FAST = {
    'ade20k': ['train_cfg.max_iters=4', 'train_cfg.val_interval=4',
               'default_hooks.checkpoint.interval=4'],
    'coco': ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1'],
}
CHECKPOINT = {'ade20k': 'iter_4.pth', 'coco': 'epoch_1.pth'}
MIOU = re.compile(r'Iter\((?:val|test)\) \[\d+/\d+\]\s+aAcc: [0-9.]+\s+mIoU: ([0-9.]+)')
BBOX_SEGM = re.compile(r'coco/bbox_mAP: [0-9.]+ .*coco/segm_mAP: [0-9.]+')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp('tiny_vit_ws')
    for dataset in TINY:
        run([sys.executable, osp.join(ROOT, 'tools', 'misc', 'make_tiny_data.py'), dataset,
             f'data/tiny_{dataset}', '--num-train', '8', '--num-val', '4'], ws)
    return ws


def metric_found(dataset, out):
    if dataset == 'ade20k':
        found = MIOU.findall(out)
        return bool(found) and 0 <= float(found[-1]) <= 100
    return bool(BBOX_SEGM.search(out))


@pytest.mark.parametrize('dataset', sorted(TINY))
def test_tiny_vit_trains_and_tests(workspace, dataset):
    work_dir = workspace / f'work_{dataset}'
    out = run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), TINY[dataset],
               '--work-dir', str(work_dir), '--cfg-options', 'default_hooks.logger.interval=1']
              + FAST[dataset], workspace)
    assert "type='ViTMona'" in out  # the logged config
    assert 'Parameters by part' in out and 'backbone adapters' in out
    assert 'frozen backbone tensors are unchanged after training' in out
    assert metric_found(dataset, out), out[-3000:]  # validation ran
    checkpoint = work_dir / CHECKPOINT[dataset]
    assert checkpoint.exists()
    out = run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), TINY[dataset], str(checkpoint),
               '--work-dir', str(work_dir / 'test')], workspace)
    assert metric_found(dataset, out), out[-3000:]


def vit_b16(grid: int) -> int:
    """Parameters of ViT-B/16 with position embeddings for a ``grid x grid`` map: 12 blocks of
    12 C^2 + 13 C, the patch convolution, the class token and 1 + grid^2 positions (C = 768)."""
    c = 768
    return 12 * (12 * c * c + 13 * c) + (c * 3 * 16 * 16 + c) + c + c * (1 + grid * grid)


@pytest.mark.parametrize('leaf,trained,frozen', [
    # 24 Monas of 133 C + 9,728 parameters (docs/spec.md section 1); 512 px: 32 x 32 positions;
    # four output norms, frozen
    ('ade20k/upernet_vit-b16-mona_mln_8xb2-160k_ade20k-512x512.py',
     dict(adapters=24 * (133 * 768 + 9_728), other=0), vit_b16(32) + 4 * 2 * 768),
    # Full: the whole ViT-B at 224 px (14 x 14 positions) and the last map's output norm
    ('coco/mask-rcnn_vit-b16-full_sfp_ms-crop-3x_coco.py',
     dict(adapters=0, other=vit_b16(14) + 2 * 768), 0),
])
def test_count_tool_on_vit_configs(leaf, trained, frozen):
    """The parameter table of the full-size ViT-B/16 configs, by the unchanged tool."""
    out = run([sys.executable, osp.join(ROOT, 'tools', 'analysis_tools', 'count_params.py'),
               osp.join(ROOT, 'configs', leaf)], ROOT)
    rows = {}
    for line in out.splitlines():
        m = re.match(r'^(\S.*?)\s{2,}([\d,]+)\s+([\d,]+)', line)
        if m:
            rows[m.group(1)] = (int(m.group(2).replace(',', '')),
                                int(m.group(3).replace(',', '')))
    assert rows['backbone adapters'] == (trained['adapters'], trained['adapters'])
    assert rows['backbone other trainable'] == (trained['other'], trained['other'])
    assert rows['backbone frozen'] == (0, frozen)
    assert rows['neck'][0] == rows['neck'][1] > 0 and rows['heads'][0] == rows['heads'][1] > 0
