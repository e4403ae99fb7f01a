"""Synthetic checkpoints with the real key names and shapes of the public Swin releases."""
from collections import OrderedDict

import torch
from mmdet.models.backbones import SwinTransformer


def microsoft_swin_state_dict(seed: int = 0, num_classes: int = 10, **swin_cfg) -> OrderedDict:
    """A random state dict laid out like Microsoft's swin_*_224*.pth ``model`` entry.

    Keys and shapes are derived from mmdet's SwinTransformer by the inverse of its
    ``swin_converter``; it adds what the release files hold and dense models lack: a final
    ``norm``, a classification ``head`` and ``attn_mask`` buffers of shifted blocks.
    """
    g = torch.Generator().manual_seed(seed)
    stock = SwinTransformer(**swin_cfg)
    out = OrderedDict()
    for key, value in stock.state_dict().items():
        if key.startswith('norm'):
            continue  # dense-prediction output norms are not in ImageNet checkpoints
        ms = key.replace('patch_embed.projection', 'patch_embed.proj')
        ms = ms.replace('attn.w_msa.', 'attn.').replace('ffn.layers.0.0.', 'mlp.fc1.')
        ms = ms.replace('ffn.layers.1.', 'mlp.fc2.').replace('stages.', 'layers.', 1)
        if key.endswith('relative_position_index'):
            out[ms] = value.clone()
        else:
            out[ms] = torch.randn(value.shape, generator=g) * 0.05
    last = stock.num_features[-1]
    out['norm.weight'] = torch.ones(last)
    out['norm.bias'] = torch.zeros(last)
    out['head.weight'] = torch.randn(num_classes, last, generator=g)
    out['head.bias'] = torch.zeros(num_classes)
    for i, stage in enumerate(stock.stages):
        for j in range(1, len(stage.blocks), 2):
            w = stock.stages[i].blocks[j].attn.window_size
            out[f'layers.{i}.blocks.{j}.attn_mask'] = torch.zeros(4, w * w, w * w)
    return out
