"""The published plain-ViT checkpoint layouts, mapped to ``ViTMona``'s keys (timm's).

Accepted, detected from the keys:

* timm and DeiT (``{'model': ...}`` or a plain state dict): ``patch_embed.proj``, ``cls_token``,
  ``pos_embed`` (1, 1 + N, C), ``blocks.N.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}``,
  ``norm``, a classification ``head``; timm's DINOv2-with-registers files (``reg_token``, a
  square ``pos_embed`` without the class token's row, whose position the class token carries);
* MAE (``{'model': ...}``): the timm layout; the fine-tuned files have ``fc_norm`` and ``head``
  instead of ``norm``, the visualisation files a decoder (``decoder_*``, ``mask_token``);
* DINOv2 (plain state dict): the timm layout plus layer scale ``blocks.N.ls1.gamma`` /
  ``ls2.gamma``, ``mask_token`` (1, C), position embeddings for 518 px (1, 1 + 37 * 37, C),
  optionally ``register_tokens`` (1, R, C); training checkpoints with chunked blocks
  (``blocks.<chunk>.<N>.``) too;
* files converted to mmseg's ``VisionTransformer`` (``layers.N.ln1``,
  ``layers.N.attn.attn.in_proj_weight``, ``layers.N.ffn.layers.0.0``, final norm ``ln1``,
  ``ln_pre`` with ``pre_norm``), as mmseg's ``vit2mmseg`` writes them and mmseg's
  ``VisionTransformer`` saves them;
* whole detector/segmentor checkpoints (``backbone.`` prefix) and ``module.``-wrapped files.

Classification-only keys (``head``, ``fc_norm``, ``mask_token``, MAE's decoder, DeiT's
distillation head) are ignored and listed in the report. The load itself, its report and its
refusals are family-neutral (``pretrained.py``).
"""
import math
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .pretrained import resize_grid, split_backbone_prefix

# keys that no dense-prediction backbone uses
_CLASSIFIER_ONLY = ('head.', 'head_dist.', 'fc_norm.', 'decoder_', 'mask_token', 'dist_token')

# ViTMona's (timm's) names and those of mmseg's VisionTransformer (and its vit2mmseg converter);
# {i} is a block index
_MMSEG_NAMES = [
    ('patch_embed.proj.', 'patch_embed.projection.'),
    ('blocks.{i}.norm1.', 'layers.{i}.ln1.'),
    ('blocks.{i}.norm2.', 'layers.{i}.ln2.'),
    ('blocks.{i}.attn.qkv.weight', 'layers.{i}.attn.attn.in_proj_weight'),
    ('blocks.{i}.attn.qkv.bias', 'layers.{i}.attn.attn.in_proj_bias'),
    ('blocks.{i}.attn.proj.', 'layers.{i}.attn.attn.out_proj.'),
    ('blocks.{i}.mlp.fc1.', 'layers.{i}.ffn.layers.0.0.'),
    ('blocks.{i}.mlp.fc2.', 'layers.{i}.ffn.layers.1.'),
    ('norm.', 'ln1.'),  # the final norm
    ('norm_pre.', 'ln_pre.'),  # pre_norm=True (CLIP-style ViTs, mmseg's SAN)
]


def _rule(src: str, dst: str) -> Tuple[str, str]:
    """A ``re.sub`` rule renaming the key (or prefix, ending with '.') ``src`` to ``dst``."""
    pattern = '^' + re.escape(src).replace(re.escape('{i}'), r'(\d+)')
    return pattern + ('' if src.endswith('.') else '$'), dst.replace('{i}', r'\1')


_FROM_MMSEG = [_rule(mmseg, ours) for ours, mmseg in _MMSEG_NAMES]
_TO_MMSEG = [_rule(ours, mmseg) for ours, mmseg in _MMSEG_NAMES]
# DINOv2's training checkpoints group blocks in chunks for FSDP: blocks.<chunk>.<index>.
_CHUNKED_BLOCK = re.compile(r'^blocks\.\d+\.(\d+)\.')


def _rename(state_dict: Dict[str, torch.Tensor],
            rules: Sequence[Tuple[str, str]]) -> Dict[str, torch.Tensor]:
    out = OrderedDict()
    for key, value in state_dict.items():
        for pattern, repl in rules:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


def mmseg_param_name(name: str) -> str:
    """The name mmseg's ``VisionTransformer`` gives parameter ``name`` of ViTMona (itself where
    mmseg has the same name or none)."""
    return next(iter(_rename({name: None}, _TO_MMSEG)))


def mae_sincos_pos_embed(embed_dims: int, grid: int) -> torch.Tensor:
    """MAE's fixed position embeddings (1, 1 + grid^2, C): a zero row for the class token, then
    the 2-d sine-cosine table of ``get_2d_sincos_pos_embed`` (facebookresearch/mae,
    util/pos_embed.py): for each token the height's half, then the width's, each half sines then
    cosines of ``pos / 10000^(2i / (C/2))``."""
    half = embed_dims // 2
    omega = 1.0 / 10000**(torch.arange(half // 2, dtype=torch.float64) / (half / 2.0))
    rows, cols = torch.meshgrid(torch.arange(grid, dtype=torch.float64),
                                torch.arange(grid, dtype=torch.float64), indexing='ij')

    def table(pos: torch.Tensor) -> torch.Tensor:
        out = pos.reshape(-1, 1) * omega
        return torch.cat([out.sin(), out.cos()], dim=1)

    # MAE's meshgrid puts the width first, and its first half takes grid[0]: the width
    emb = torch.cat([table(cols), table(rows)], dim=1)
    return torch.cat([emb.new_zeros(1, embed_dims), emb]).float()[None]


def is_mae_pos_embed(pos_embed: Optional[torch.Tensor]) -> bool:
    """Whether ``pos_embed`` is MAE's fixed sine-cosine table (its pre-trained and visualisation
    releases keep it as trained: it is not learned)."""
    if pos_embed is None or pos_embed.dim() != 3 or pos_embed.shape[-1] % 4:
        return False
    grid = math.isqrt(pos_embed.shape[1] - 1)
    if grid * grid != pos_embed.shape[1] - 1:
        return False
    return torch.allclose(pos_embed.float().cpu(), mae_sincos_pos_embed(pos_embed.shape[-1], grid),
                          atol=1e-5)


def vit_to_backbone_keys(state_dict: Dict[str, torch.Tensor], patch_bias: bool = True
                         ) -> Tuple[Dict[str, torch.Tensor], str, List[str]]:
    """Map any accepted ViT checkpoint layout to ViTMona keys.

    Args:
        state_dict: The unwrapped state dict of the file.
        patch_bias: Whether the backbone's patch embedding has a bias: a file without one (mmseg
            builds its ViT so by default) gets a zero bias; without, a file's bias is ignored
            (as mmseg's ``patch_bias=False`` drops it).

    Returns:
        tuple: ``(state_dict, source_format, ignored_keys)``.
    """
    state_dict, ignored, whole_model = split_backbone_prefix(state_dict)
    keys = list(state_dict)
    if any(k.startswith('layers.') for k in keys):
        fmt = 'mmseg-converted'
        state_dict = _rename(state_dict, _FROM_MMSEG)
        if patch_bias and 'patch_embed.proj.weight' in state_dict and \
                'patch_embed.proj.bias' not in state_dict:
            # mmseg builds its ViT with patch_bias=False by default: a zero bias is the same
            weight = state_dict['patch_embed.proj.weight']
            state_dict['patch_embed.proj.bias'] = weight.new_zeros(weight.shape[0])
            fmt += ' (no patch bias, as mmseg builds it by default: a zero bias here)'
    elif 'register_tokens' in state_dict or any(k.endswith('.ls1.gamma') for k in keys):
        fmt = 'DINOv2'
        if any(_CHUNKED_BLOCK.match(k) for k in keys):
            state_dict = _rename(state_dict, [(_CHUNKED_BLOCK.pattern, r'blocks.\1.')])
        if 'register_tokens' in state_dict:
            fmt += f' with {state_dict["register_tokens"].shape[1]} register tokens'
            state_dict = _rename(state_dict, [(r'^register_tokens$', 'reg_token')])
    elif any(k.startswith(('fc_norm.', 'decoder_')) for k in keys) or is_mae_pos_embed(
            state_dict.get('pos_embed')):
        fmt = 'MAE'
    else:
        fmt = 'timm/DeiT (timm layout)'
    if whole_model:
        fmt = f'detector/segmentor (backbone.), {fmt}'

    dropped = _CLASSIFIER_ONLY + (() if patch_bias else ('patch_embed.proj.bias', ))
    ignored += [k for k in state_dict if k.startswith(dropped)]
    state_dict = OrderedDict((k, v) for k, v in state_dict.items() if not k.startswith(dropped))
    pos = state_dict.get('pos_embed')
    if 'reg_token' in state_dict and pos is not None and pos.dim() == 3 and \
            math.isqrt(pos.shape[1])**2 == pos.shape[1]:
        # timm's DINOv2-with-registers files (no_embed_class): no row for the class token, whose
        # position is folded into cls_token; ours gets a zero row for it (a square count of rows
        # with a class row would be 1 + N = M * M with N = n * n, which no n > 0 gives)
        state_dict['pos_embed'] = torch.cat([pos.new_zeros(1, 1, pos.shape[2]), pos], dim=1)
        fmt += ', position embeddings without a class row'
    return state_dict, fmt, ignored


def check_vit_options(state_dict: Dict[str, torch.Tensor], layer_scale: bool,
                      num_register_tokens: int) -> None:
    """Refuse a checkpoint whose architecture the backbone would silently change: layer scale or
    register tokens the backbone was not built with (their keys would be dropped).

    Raises:
        ValueError: naming the backbone setting that fits the file.
    """
    if any(k.endswith(('.ls1.gamma', '.ls2.gamma')) for k in state_dict) and not layer_scale:
        raise ValueError('The checkpoint has layer scale (blocks.N.ls1.gamma, as DINOv2); build '
                         'ViTMona with layer_scale_init_value=1.0 (its scales are then loaded).')
    reg = state_dict.get('reg_token')
    file_registers = reg.shape[1] if reg is not None and reg.dim() == 3 else 0
    if file_registers and file_registers != num_register_tokens:
        raise ValueError(f'The checkpoint has {file_registers} register tokens; build ViTMona '
                         f'with num_register_tokens={file_registers} (got '
                         f'{num_register_tokens}).')


#: how a position table is resized to another token grid, by the family whose code does it:
#: ``'mmseg'`` plain ``F.interpolate`` with ``interpolate_mode`` (mmseg's ViT; MAE's
#: ``interpolate_pos_embed`` too); ``'timm'`` with antialiasing (timm's ``resample_abs_pos_embed``;
#: DINOv2's hub models with registers too); ``'dinov2'`` DINOv2's hub models without registers:
#: the scale factor ``(n + 0.1) / N``, not the size (its ``interpolate_offset``)
POS_EMBED_RESIZE_RULES = ('mmseg', 'timm', 'dinov2')


def family_resize_rule(source_format: str) -> Optional[str]:
    """The rule by which the code of a file's family resizes its position table (see
    :data:`POS_EMBED_RESIZE_RULES`), from the load report's ``source_format``; None for a
    detector/segmentor checkpoint (its table was trained with the rule of its own config)."""
    if source_format.startswith('detector/segmentor'):
        return None
    if source_format.startswith(('mmseg', 'MAE')):
        return 'mmseg'
    if source_format.startswith('DINOv2'):
        return 'timm' if 'register' in source_format else 'dinov2'
    return 'timm'


def resize_pos_embed(pos_embed: torch.Tensor, dst_hw: Sequence[int],
                     src_hw: Optional[Sequence[int]] = None,
                     mode: str = 'bicubic', rule: str = 'mmseg') -> torch.Tensor:
    """Position embeddings (1, 1 + H * W, C) for another grid: the class token's row is kept,
    the grid rows are resized by ``rule`` (:data:`POS_EMBED_RESIZE_RULES`).

    Args:
        pos_embed: (1, 1 + H * W, C).
        dst_hw: (h, w) wanted.
        src_hw: (H, W); None for a square grid (a checkpoint's), inferred from the length.
        mode: ``F.interpolate``'s mode (mmseg's ``interpolate_mode``). Default: 'bicubic'.
        rule: ``'mmseg'`` (plain), ``'timm'`` (antialiased) or ``'dinov2'`` (DINOv2's 0.1
            offset in the scale factor). Default: 'mmseg'.

    Returns:
        (1, 1 + h * w, C); ``pos_embed`` unchanged if its rows are no square grid and
        ``src_hw`` is None (the load then reports a shape mismatch).
    """
    if src_hw is None:
        side = math.isqrt(pos_embed.shape[1] - 1)
        if side * side != pos_embed.shape[1] - 1:
            return pos_embed
        src_hw = (side, side)
    table = pos_embed[0, 1:]
    if rule == 'mmseg':
        grid = resize_grid(table, src_hw, dst_hw, mode)
    else:
        channels = table.shape[-1]
        src = table.float().reshape(1, *src_hw, channels).permute(0, 3, 1, 2)
        if rule == 'timm':
            out = F.interpolate(src, size=tuple(dst_hw), mode=mode, antialias=True)
        elif rule == 'dinov2':
            scale = tuple((d + 0.1) / s for d, s in zip(dst_hw, src_hw))
            out = F.interpolate(src, scale_factor=scale, mode=mode)
        else:
            raise ValueError(f'pos_embed_resize must be one of {POS_EMBED_RESIZE_RULES}, got '
                             f'{rule!r}.')
        grid = out.permute(0, 2, 3, 1).reshape(-1, channels)
    return torch.cat([pos_embed[:, :1], grid[None].to(pos_embed.dtype)], dim=1)
