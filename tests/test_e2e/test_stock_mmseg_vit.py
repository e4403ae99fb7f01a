"""A drop-in, end to end: mmseg's own ViT-B UperNet and DPT configs (``mmseg::``, unchanged) with
only the backbone's ``type`` swapped to ViTMona, trained a few iterations and evaluated by the
README's tools/train.py on the generated tiny ADE20K set, from a weights file in the layout that
mmseg's converter writes, at the path the stock config names. The rest of each leaf config is
the tiny set (its loaders, its 64 px crop for the data preprocessor) and a 2-iteration schedule:
mmseg's arguments, defaults, heads (DPT reads the class token) and optimizer settings stay."""
import os.path as osp
import re
import sys

import pytest
import torch

from tests.helpers import ROOT, run

STOCK = {
    'upernet': ('mmseg::vit/vit_vit-b16_mln_upernet_8xb2-80k_ade20k-512x512.py',
                'pretrain/vit_base_patch16_224.pth'),
    'dpt': ('mmseg::dpt/dpt_vit-b16_8xb2-160k_ade20k-512x512.py',
            'pretrain/vit-b16_p16_224-80ecf9dd.pth'),
}
LEAF = """_base_ = ['{stock}', '{tiny}']
model = dict(backbone=dict(type='ViTMona'), data_preprocessor=dict(size=(64, 64)))
train_dataloader = _base_.tiny.ade20k.train_dataloader
val_dataloader = _base_.tiny.ade20k.val_dataloader
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
"""
MIOU = re.compile(r'Iter\(val\) \[4/4\]\s+aAcc: [0-9.]+\s+mIoU: [0-9.]+')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """The tiny ADE20K set and a ViT-B/16 state dict as mmseg's vit2mmseg writes it (random
    weights, the converted timm release's keys: patch bias, final ``ln1``) at both stock paths."""
    from mmseg.models.backbones import VisionTransformer
    ws = tmp_path_factory.mktemp('stock_vit_ws')
    run([sys.executable, osp.join(ROOT, 'tools', 'misc', 'make_tiny_data.py'), 'ade20k',
         'data/tiny_ade20k', '--num-train', '8', '--num-val', '4'], ws)
    torch.manual_seed(0)
    vit = VisionTransformer(img_size=224, patch_bias=True, final_norm=True,
                            norm_cfg=dict(type='LN', eps=1e-6))
    with torch.no_grad():
        for name, p in vit.named_parameters():
            if 'ln' not in name:
                p.normal_(0, 0.02)
    (ws / 'pretrain').mkdir()
    torch.save(vit.state_dict(), ws / STOCK['upernet'][1])
    (ws / STOCK['dpt'][1]).symlink_to(osp.basename(STOCK['upernet'][1]))
    return ws


@pytest.mark.parametrize('name', sorted(STOCK))
def test_stock_mmseg_vit_config_with_type_swapped_trains(workspace, name):
    stock, weights = STOCK[name]
    leaf = workspace / f'{name}_vit_mona.py'
    leaf.write_text(LEAF.format(stock=stock, tiny=osp.join(ROOT, 'configs', '_base_', 'tiny',
                                                            'segmentation.py')))
    work_dir = workspace / f'work_{name}'
    out = run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(leaf), '--work-dir',
               str(work_dir)], workspace)
    assert "type='ViTMona'" in out
    assert 'Loaded 148 tensors from a mmseg-converted ViT checkpoint.' in out, out[-3000:]
    assert 'Iter(train) [2/2]' in out and MIOU.search(out), out[-3000:]
    # Mona (ViTMona's default method) trained, the pretrained ViT-B stayed as loaded
    state = torch.load(work_dir / 'iter_2.pth', map_location='cpu')['state_dict']
    source = torch.load(workspace / weights, map_location='cpu')
    torch.testing.assert_close(state['backbone.blocks.11.attn.qkv.weight'],
                               source['layers.11.attn.attn.in_proj_weight'], rtol=0, atol=0)
    assert sum('mona' in k for k in state) > 0
