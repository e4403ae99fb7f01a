"""Helpers shared by the tests: synthetic Swin checkpoints, generated-file comparison, running the
tools as a user would."""
import os
import subprocess
from collections import OrderedDict
from typing import Dict, List

import torch
from mmdet.models.backbones import SwinTransformer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def all_files(root: str) -> Dict[str, bytes]:
    """Every file under ``root``: relative path -> contents (to compare generated sets)."""
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as f:
                files[os.path.relpath(path, root)] = f.read()
    return files


def run(args: List[str], cwd, timeout: float = 900) -> str:
    """Run a command as a user would, with this checkout importable; return stdout + stderr.

    One thread per process (``OMP_NUM_THREADS=1``) keeps runs on a few shared cores from
    oversubscribing them. Fails the test with the output's tail if the command fails.
    """
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
               OMP_NUM_THREADS='1')
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    return out
