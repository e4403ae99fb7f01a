"""Helpers shared by the tests: synthetic Swin checkpoints, generated-file comparison, running the
tools as a user would."""
import logging
import os
import socket
import subprocess
from collections import OrderedDict
from typing import Dict, List

import numpy as np
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


def free_port() -> int:
    """A TCP port nobody listens on now, for a distributed run's rendezvous."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(args: List[str], cwd, timeout: float = 900) -> str:
    """Run a command as a user would, with this checkout importable; return stdout + stderr.

    One thread per process (``OMP_NUM_THREADS=1``) keeps runs on a few shared cores from
    oversubscribing them. ``PORT`` (``tools/dist_train.sh``'s rendezvous port) is a free one, so
    distributed runs of tests that run side by side (pytest-xdist) do not meet. Fails the test
    with the output's tail if the command fails.
    """
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
               OMP_NUM_THREADS='1', PORT=str(free_port()))
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    return out


def mae_2d_sincos(embed_dim: int, grid_size: int) -> torch.Tensor:
    """facebookresearch/mae util/pos_embed.py ``get_2d_sincos_pos_embed(embed_dim, grid_size,
    cls_token=True)``, written out as it is there (numpy), as (1, 1 + grid^2, C) float32."""
    def one_d(dim, pos):
        omega = np.arange(dim // 2, dtype=np.float64)
        omega /= dim / 2.
        omega = 1. / 10000**omega
        out = np.einsum('m,d->md', pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    grid = np.meshgrid(np.arange(grid_size, dtype=np.float32),
                       np.arange(grid_size, dtype=np.float32))  # here w goes first
    grid = np.stack(grid, axis=0).reshape([2, 1, grid_size, grid_size])
    emb = np.concatenate([one_d(embed_dim // 2, grid[0]), one_d(embed_dim // 2, grid[1])], axis=1)
    emb = np.concatenate([np.zeros([1, embed_dim]), emb], axis=0)
    return torch.from_numpy(emb).float()[None]


def vit_state_dict(layout: str = 'timm', embed_dims: int = 768, depth: int = 12,
                   patch_size: int = 16, grid: int = 14, mlp_ratio: int = 4,
                   num_classes: int = 1000, num_register_tokens: int = 0,
                   seed: int = 0) -> OrderedDict:
    """A random state dict with the key names and shapes of a published plain-ViT checkpoint.

    Written out from the releases, independently of ``ViTMona``:

    * ``'timm'`` (timm and DeiT, e.g. deit_base_patch16_224 / vit_base_patch16_224):
      ``cls_token`` (1, 1, C), ``pos_embed`` (1, 1 + grid^2, C), ``patch_embed.proj``
      (C, 3, p, p), per block ``norm1``, ``attn.qkv`` (3C, C), ``attn.proj``, ``norm2``,
      ``mlp.fc1`` (4C, C), ``mlp.fc2``; the final ``norm``; the classifier ``head``;
    * ``'mae'`` (mae_pretrain_vit_base.pth): the timm keys with ``norm`` and no ``head``;
    * ``'mae_finetuned'`` (mae_finetuned_vit_base.pth): ``fc_norm`` and ``head`` instead of
      ``norm`` (global pooling);
    * ``'mae_visualize'`` (mae_visualize_vit_base.pth): the encoder with ``norm`` plus the
      decoder (``mask_token`` (1, 1, D), ``decoder_embed``, ``decoder_pos_embed``,
      ``decoder_blocks.0.*``, ``decoder_norm``, ``decoder_pred``);
    * ``'dinov2'`` (dinov2_vit*14_pretrain.pth, grid 37 for 518 px): the timm keys without a
      head, plus ``blocks.N.ls1.gamma`` / ``ls2.gamma`` (C) and ``mask_token`` (1, C); with
      ``num_register_tokens`` (the _reg4_ files) ``register_tokens`` (1, R, C).
    """
    g = torch.Generator().manual_seed(seed)
    c, hidden = embed_dims, mlp_ratio * embed_dims
    out = OrderedDict()

    def rand(*shape):
        return torch.randn(*shape, generator=g) * 0.05

    def block(prefix: str, dims: int, hid: int) -> None:
        out[f'{prefix}norm1.weight'] = 1 + rand(dims)
        out[f'{prefix}norm1.bias'] = rand(dims)
        out[f'{prefix}attn.qkv.weight'] = rand(3 * dims, dims)
        out[f'{prefix}attn.qkv.bias'] = rand(3 * dims)
        out[f'{prefix}attn.proj.weight'] = rand(dims, dims)
        out[f'{prefix}attn.proj.bias'] = rand(dims)
        if layout == 'dinov2':
            out[f'{prefix}ls1.gamma'] = 1 + rand(dims) * 10
        out[f'{prefix}norm2.weight'] = 1 + rand(dims)
        out[f'{prefix}norm2.bias'] = rand(dims)
        out[f'{prefix}mlp.fc1.weight'] = rand(hid, dims)
        out[f'{prefix}mlp.fc1.bias'] = rand(hid)
        out[f'{prefix}mlp.fc2.weight'] = rand(dims, hid)
        out[f'{prefix}mlp.fc2.bias'] = rand(dims)
        if layout == 'dinov2':
            out[f'{prefix}ls2.gamma'] = 1 + rand(dims) * 10

    out['cls_token'] = rand(1, 1, c)
    out['pos_embed'] = rand(1, 1 + grid * grid, c)
    if layout in ('mae', 'mae_visualize'):  # trained with MAE's fixed sine-cosine table
        out['pos_embed'] = mae_2d_sincos(c, grid)
    if layout == 'dinov2':
        if num_register_tokens:
            out['register_tokens'] = rand(1, num_register_tokens, c)
        out['mask_token'] = torch.zeros(1, c)
    out['patch_embed.proj.weight'] = rand(c, 3, patch_size, patch_size)
    out['patch_embed.proj.bias'] = rand(c)
    for i in range(depth):
        block(f'blocks.{i}.', c, hidden)
    final = 'fc_norm' if layout == 'mae_finetuned' else 'norm'
    out[f'{final}.weight'] = 1 + rand(c)
    out[f'{final}.bias'] = rand(c)
    if layout in ('timm', 'mae_finetuned'):
        out['head.weight'] = rand(num_classes, c)
        out['head.bias'] = torch.zeros(num_classes)
    if layout == 'mae_visualize':
        d = max(c // 2, 8)
        out['mask_token'] = torch.zeros(1, 1, d)
        out['decoder_embed.weight'] = rand(d, c)
        out['decoder_embed.bias'] = rand(d)
        out['decoder_pos_embed'] = rand(1, 1 + grid * grid, d)
        block('decoder_blocks.0.', d, mlp_ratio * d)
        out['decoder_norm.weight'] = 1 + rand(d)
        out['decoder_norm.bias'] = rand(d)
        out['decoder_pred.weight'] = rand(patch_size * patch_size * 3, d)
        out['decoder_pred.bias'] = rand(patch_size * patch_size * 3)
    return out


def assert_close_to_scale(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-5,
                          msg: str = '') -> None:
    """``actual`` equals ``expected`` within ``rtol`` of the largest magnitude of ``expected``:
    a tolerance suited to the tensor's scale, also where single entries (or their sum) are near
    zero, where a default ``assert_close`` would ask for digits that float rounding does not
    keep."""
    scale = expected.detach().abs().max().item() if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * scale + 1e-12, msg=msg)


def assert_same_training_step(models, x: torch.Tensor, seed: int = 0) -> None:
    """Two or more models (with equal weights) give the same outputs and gradients on ``x`` in
    train mode, each run seeded with ``seed`` (dropout and drop-path draw the same masks), the
    loss the mean square of every output, each output and each gradient compared to its own
    scale (:func:`assert_close_to_scale`)."""
    runs = []
    for model in models:
        model.zero_grad(set_to_none=True)
        torch.manual_seed(seed)
        outs = model(x)
        sum(o.square().mean() for o in outs).backward()
        runs.append(([o.detach() for o in outs],
                     {n: p.grad for n, p in model.named_parameters() if p.requires_grad}))
    (ref_outs, ref_grads), rest = runs[0], runs[1:]
    assert ref_grads, 'nothing trains: the comparison would check no gradient'
    for outs, grads in rest:
        assert len(outs) == len(ref_outs) and grads.keys() == ref_grads.keys()
        for i, (a, b) in enumerate(zip(outs, ref_outs)):
            assert_close_to_scale(a, b, msg=f'output {i}')
        for name, grad in ref_grads.items():
            assert grads[name] is not None and grad is not None, name
            assert_close_to_scale(grads[name], grad, msg=name)


class LogRecords(logging.Handler):
    """Keeps the messages of the records it handles, in order (``lines``)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def recording_logger(name: str):
    """A fresh INFO logger ``name`` and the :class:`LogRecords` that records what it logs."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    records = LogRecords()
    logger.addHandler(records)
    return logger, records
