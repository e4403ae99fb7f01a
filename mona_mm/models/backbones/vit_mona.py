"""ViTMona: one plain Vision Transformer backbone that hosts every delta-tuning method.

Vision Transformer (Dosovitskiy et al., ICLR 2021, arXiv 2010.11929), with the options of the
checkpoints people start from: DeiT and timm/AugReg (class token), MAE, DINOv2 (patch 14, layer
scale ``ls1``/``ls2``, optionally register tokens; Darcet et al., arXiv 2309.16588).

Its keys are timm's (``patch_embed.proj``, ``cls_token``, ``pos_embed``, ``blocks.N.norm1``,
``blocks.N.attn.qkv``, ``blocks.N.attn.proj``, ``blocks.N.ls1.gamma``, ``blocks.N.mlp.fc1`` ...),
the layout in which DeiT, MAE and DINOv2 publish their weights, so those load with at most a
rename (``vit_checkpoint.py``). mmseg's ``VisionTransformer`` keeps its attention in torch's
``nn.MultiheadAttention``, whose fused projection is a Parameter (``in_proj_weight``), not the
``nn.Linear`` that LoRA wraps; so the block owns a small timm-style attention, and its numerics
equal mmseg's on the same weights (tested through the key mapping that also loads mmseg-converted
files). The rest of the forward follows mmseg's ``VisionTransformer``: the patch embedding pads
the image at its bottom-right corner to a multiple of the patch size, the position embeddings are
interpolated (bicubic) to the token grid at forward time, the outputs drop the leading tokens.

The block's forward with its adapter slots is shared by every family (``tunable.SlotBlock``):
layer scale belongs to the pretrained branch, so the branch adapters (Adapter, LoRand) see
``ls1(attn(norm1(x)))``. The class token and any register tokens stay in the sequence through every
block; Mona's convolution takes only the ``H x W`` patch tokens (the others pass it by, see
``mona_mm.layers.mona``); the output maps are the patch tokens.

``frozen_stages`` counts from the input (the original Swin code's way): 0 freezes the patch
embedding; 1 also the position embedding, the class token, the register tokens and the
pre-norm; k >= 2 also blocks 0..k-2. mmseg's ``frozen_exclude`` freezes by name on top.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks.transformer import AdaptivePadding
from mmengine.model import ModuleList
from mmengine.model.weight_init import kaiming_init, trunc_normal_
from mmengine.registry import MODELS

from .pretrained import LoadReport
from .tunable import (
    DeltaTunedBackbone,
    SlotBlock,
    init_base_modules,
    init_linear_and_norm,
    pretrained_init_cfg,
)
from .vit_checkpoint import (
    POS_EMBED_RESIZE_RULES,
    check_vit_options,
    family_resize_rule,
    mmseg_param_name,
    resize_pos_embed,
    vit_to_backbone_keys,
)


class ViTPatchEmbed(nn.Module):
    """Non-overlapping patch embedding, timm's keys (``proj``, ``norm``), mmseg's corner padding:
    an image whose sides are not multiples of the patch size is zero-padded at the bottom and
    right.

    Args:
        in_channels (int): Image channels.
        embed_dims (int): Token channels C.
        patch_size (int): Patch side p (the convolution's kernel and stride).
        bias (bool): The convolution's bias. Default: True.
        norm_cfg (dict, optional): A norm on the tokens (mmseg's ``patch_norm``). Default: None.
    """

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int, bias: bool = True,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.pad = AdaptivePadding(kernel_size=patch_size, stride=patch_size, padding='corner')
        self.proj = nn.Conv2d(in_channels, embed_dims, patch_size, stride=patch_size, bias=bias)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1] if norm_cfg else None

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Args: x: (B, 3, H, W). Returns: (B, h * w, C) tokens and (h, w) = ceil((H, W) / p)."""
        x = self.proj(self.pad(x))
        hw_shape = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2)
        return (x if self.norm is None else self.norm(x)), hw_shape


class ViTAttention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` nn.Linear (C -> 3C, q, k, v in that order,
    as timm's and as the rows of ``nn.MultiheadAttention.in_proj_weight``) and ``proj``."""

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0.) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, 3 * embed_dims, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: (B, N, C). Returns: (B, N, C)."""
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        return self.proj_drop(self.proj(x.transpose(1, 2).reshape(b, n, c)))


class ViTMlp(nn.Module):
    """The block's MLP, timm's keys: ``fc1`` (C -> hidden), activation, ``fc2`` (hidden -> C)."""

    def __init__(self, embed_dims: int, hidden_dims: int, act_cfg: dict,
                 drop: float = 0.) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class LayerScale(nn.Module):
    """Per-channel scale of a residual branch (CaiT; DINOv2's ``ls1``/``ls2``): ``x * gamma``."""

    def __init__(self, embed_dims: int, init_value: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((embed_dims, ), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class ViTMonaBlock(SlotBlock):
    """A pre-norm ViT block with named adapter slots (``tunable.SlotBlock``)::

        x = x + drop_path(ls1(attn(norm1(x))))      then the attention slots
        x = x + drop_path(ls2(mlp(norm2(x))))       then the MLP slots

    ``ls1``/``ls2`` exist only with layer scale (``layer_scale_init_value`` > 0).
    """

    QKV = 'attn.qkv'

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 0.,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 with_cp: bool = False) -> None:
        super().__init__(embed_dims, drop_path_rate, with_cp)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ViTAttention(embed_dims, num_heads, qkv_bias, attn_drop_rate, drop_rate)
        self.ls1 = LayerScale(embed_dims, layer_scale_init_value) if layer_scale_init_value \
            else nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.mlp = ViTMlp(embed_dims, feedforward_channels, act_cfg, drop_rate)
        self.ls2 = LayerScale(embed_dims, layer_scale_init_value) if layer_scale_init_value \
            else nn.Identity()

    def residual_attn(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        return self.ls1(self.attn(self.norm1(x)))

    def residual_ffn(self, x: torch.Tensor) -> torch.Tensor:
        return self.ls2(self.mlp(self.norm2(x)))


#: ``F.interpolate``'s modes for a 2-d grid (mmseg's ``interpolate_mode``)
INTERPOLATE_MODES = ('nearest', 'nearest-exact', 'bilinear', 'bicubic', 'area')


def check_vit_arguments(img_size, with_cls_token: bool, output_cls_token: bool,
                        interpolate_mode: str, patch_pad: str, num_fcs: int,
                        frozen_exclude: Sequence[str] = ('all', ),
                        pos_embed_resize: Optional[str] = None) -> Tuple[int, int]:
    """Refuse what mmseg's VisionTransformer asserts (or what this one does not build), naming
    the argument, before anything is built; returns ``img_size`` as (height, width).

    Raises:
        TypeError: ``img_size`` of another type (as mmseg).
        ValueError: the first argument found invalid.
    """
    if not isinstance(img_size, (int, tuple, list)) or isinstance(img_size, bool):
        raise TypeError(f'img_size must be an int or a tuple (height, width), got '
                        f'{type(img_size).__name__} {img_size!r}.')
    size = tuple(img_size) if isinstance(img_size, (tuple, list)) else (img_size, )
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
        raise ValueError('img_size must be a positive int or a pair (height, width) (mmseg also '
                         f'takes a 1-tuple), got {img_size!r}.')
    if output_cls_token and not with_cls_token:
        raise ValueError('output_cls_token=True needs with_cls_token=True: the class token must '
                         'stay in the sequence to be returned.')
    if interpolate_mode not in INTERPOLATE_MODES:
        raise ValueError(f'interpolate_mode must be one of {INTERPOLATE_MODES}, got '
                         f'{interpolate_mode!r}.')
    if pos_embed_resize is not None and pos_embed_resize not in POS_EMBED_RESIZE_RULES:
        raise ValueError(f'pos_embed_resize must be None or one of {POS_EMBED_RESIZE_RULES} '
                         f'(mmseg\'s, timm\'s or DINOv2\'s way), got {pos_embed_resize!r}.')
    if pos_embed_resize == 'timm' and interpolate_mode not in ('bilinear', 'bicubic'):
        raise ValueError(f"pos_embed_resize='timm' antialiases, which F.interpolate does only "
                         f"with interpolate_mode 'bilinear' or 'bicubic', got "
                         f"{interpolate_mode!r}.")
    if isinstance(frozen_exclude, str) or not isinstance(frozen_exclude, (list, tuple)) or \
            not all(isinstance(name, str) for name in frozen_exclude):
        raise ValueError(f"frozen_exclude must be a list of parameter-name substrings (mmseg's; "
                         f"['all'] freezes nothing), got {frozen_exclude!r}.")
    if patch_pad != 'corner':
        raise ValueError(f"patch_pad={patch_pad!r} is not supported: ViTMona pads an image whose "
                         "size is not a multiple of the patch at its bottom-right corner "
                         "('corner', mmseg's default).")
    if num_fcs != 2:
        raise ValueError(f'num_fcs={num_fcs} is not supported: the MLP of every published ViT '
                         'has two layers (num_fcs=2, mmseg\'s default), which the checkpoints '
                         'hold.')
    return size


@MODELS.register_module()
class ViTMona(DeltaTunedBackbone):
    """Plain Vision Transformer backbone with a declarative delta-tuning method.

    Argument names follow mmseg's ``VisionTransformer`` where it has them.

    Args:
        arch (str): ``'tiny'``, ``'small'``, ``'base'``, ``'large'`` or ``'huge'``; fills
            ``embed_dims``, ``num_layers`` and ``num_heads`` (explicit values win).
            Default: ``'base'``.
        img_size (int | tuple): The image size the position embeddings are laid out for: a
            ``ceil(H / p) x ceil(W / p)`` grid. Other input sizes interpolate them at forward time
            (``pos_embed_resize``); a checkpoint for another grid (DINOv2's 37 x 37 for 518 px) is
            resized to it on load. Default: 224.
        patch_size (int): 16 (DeiT, timm, MAE) or 14 (DINOv2). Default: 16.
        out_indices (Sequence[int], optional): Blocks whose outputs are returned (negative counts
            from the end). Default: four evenly spaced, the last one included ((2, 5, 8, 11) for
            12 blocks).
        with_cls_token (bool): Keep the class token in the sequence through the blocks (as the
            pretrained model saw it). False drops it after the position embedding, as mmseg's
            option. Default: True.
        num_register_tokens (int): Register tokens after the class token (DINOv2 with registers:
            4). They get no position embedding. Default: 0.
        layer_scale_init_value (float): Layer scale (``ls1.gamma``, ``ls2.gamma``) initialised to
            this value; 0 builds none. DINOv2 checkpoints need it (any non-zero value: the
            checkpoint's scales replace it). Default: 0.
        final_norm (bool): The pretrained final norm ``norm`` on the tokens after the last
            block (mmseg's ``final_norm``). Default: False (the checkpoint's ``norm`` is ignored).
        out_norms (bool): One norm ``norm{i}`` per output (as Swin's ``norm0..3``; not in the
            checkpoints: delta methods keep them at identity unless ``train_out_norms``). False
            returns the blocks' outputs as they are, as mmseg's ViT. Default: True.
        drop_path_rate (float): Stochastic depth, linear in depth up to this value. Default: 0.
        with_cp (bool): Gradient checkpointing of every block. Default: False.
        output_cls_token (bool): Each output is ``[map, class token (B, C)]``, as mmseg's (its
            DPT head needs it); needs ``with_cls_token``. Default: False.
        out_origin (bool): Also return the tokens before the first block (after the position
            embedding) as the first output, as mmseg's. Default: False.
        interpolate_mode (str): How the position embeddings are resized to an input's token
            grid at forward time (mmseg's argument). Default: 'bicubic'.
        norm_eval (bool): Keep every LayerNorm in eval mode in training (mmseg's option; a
            LayerNorm has no running statistics, so nothing changes). Default: False.
        patch_norm (bool): A norm (``norm_cfg``) on the patch tokens, ``patch_embed.norm``
            (mmseg's). Default: False.
        patch_bias (bool): The patch convolution's bias. Every published ViT has one; mmseg's
            default is False (it then ignores the file's bias, and so does this). Default: True.
        pre_norm (bool): A norm ``norm_pre`` on the tokens before the first block (mmseg's
            ``pre_norm``, its key ``ln_pre``; CLIP-style ViTs). Default: False.
        frozen_exclude (list[str]): mmseg's freezing: every pretrained parameter whose name
            (ours or mmseg's, such as ``layers.0.ln1``) contains none of these substrings is
            frozen; ``['all']`` freezes nothing. Adapters and output norms follow the tuning
            method; a name frozen by the method stays frozen. Default: ``['all']``.
        pos_embed_resize (str, optional): How the position table is resized to another grid,
            on load and at forward: ``'mmseg'`` (plain ``interpolate_mode``; mmseg's and MAE's
            code), ``'timm'`` (antialiased; timm's, and DINOv2's models with registers) or
            ``'dinov2'`` (DINOv2's 0.1 offset). None: on load the rule of the file's family
            (named in the load report), at forward mmseg's (the rule at forward must be the
            same in training and testing, and a test run reads no pretrained file). Default:
            None.
        patch_pad (str): Only 'corner' (mmseg's default): an image whose size is not a multiple
            of the patch is padded at its bottom-right corner. Default: 'corner'.
        num_fcs (int): Only 2 (mmseg's default), the two-layer MLP of every published ViT.
            Default: 2.
        pretrained (str, optional): mmseg's deprecated form of ``init_cfg=dict(type=
            'Pretrained', checkpoint=pretrained)`` (with a deprecation warning; not with
            ``init_cfg``). Default: None.
        tuning (str | dict | list): The tuning method(s). Default: ``dict(type='Mona')``.
        train_out_norms (bool): Also train the output norms. Default: False.
        frozen_stages (int): -1 none; 0 the patch embedding; 1 also the position embedding and
            the class/register tokens; k >= 2 also blocks 0..k-2 (kept in eval mode). Default: -1.
        strict_pretrained (bool): Missing pretrained weights (other than the adapters' and the
            output norms) are an error. Default: True.
        deploy (bool): Build the merged (deployment) structure. Default: False.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)``: a timm/DeiT,
            MAE, DINOv2 or mmseg-converted ViT file, or a detector/segmentor checkpoint.
    """

    family = 'ViT'
    arch_zoo = {
        'tiny': dict(embed_dims=192, num_layers=12, num_heads=3),
        'small': dict(embed_dims=384, num_layers=12, num_heads=6),
        'base': dict(embed_dims=768, num_layers=12, num_heads=12),
        'large': dict(embed_dims=1024, num_layers=24, num_heads=16),
        'huge': dict(embed_dims=1280, num_layers=32, num_heads=16),
    }

    def __init__(self,
                 arch: str = 'base',
                 img_size: Union[int, Tuple[int, int]] = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 embed_dims: Optional[int] = None,
                 num_layers: Optional[int] = None,
                 num_heads: Optional[int] = None,
                 mlp_ratio: float = 4,
                 out_indices: Optional[Sequence[int]] = None,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 with_cls_token: bool = True,
                 num_register_tokens: int = 0,
                 layer_scale_init_value: float = 0.,
                 final_norm: bool = False,
                 out_norms: bool = True,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 with_cp: bool = False,
                 output_cls_token: bool = False,
                 out_origin: bool = False,
                 interpolate_mode: str = 'bicubic',
                 norm_eval: bool = False,
                 patch_pad: str = 'corner',
                 num_fcs: int = 2,
                 patch_norm: bool = False,
                 patch_bias: bool = True,
                 pre_norm: bool = False,
                 frozen_exclude: Sequence[str] = ('all', ),
                 pos_embed_resize: Optional[str] = None,
                 pretrained: Optional[str] = None,
                 tuning=dict(type='Mona'),
                 train_out_norms: bool = False,
                 frozen_stages: int = -1,
                 strict_pretrained: bool = True,
                 deploy: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        img_size = check_vit_arguments(
            img_size=img_size, with_cls_token=with_cls_token, output_cls_token=output_cls_token,
            interpolate_mode=interpolate_mode, patch_pad=patch_pad, num_fcs=num_fcs,
            frozen_exclude=frozen_exclude, pos_embed_resize=pos_embed_resize)
        super().__init__(init_cfg=pretrained_init_cfg(pretrained, init_cfg))
        if arch not in self.arch_zoo:
            raise KeyError(f'Unknown ViT arch {arch!r}; valid: {sorted(self.arch_zoo)}')
        zoo = self.arch_zoo[arch]
        self.embed_dims = embed_dims = embed_dims or zoo['embed_dims']
        num_layers = num_layers or zoo['num_layers']
        num_heads = num_heads or zoo['num_heads']
        self.patch_size = patch_size
        img_h, img_w = img_size
        #: the token grid of the position embeddings
        self.pos_grid = (math.ceil(img_h / patch_size), math.ceil(img_w / patch_size))
        self.out_indices = self._resolve_out_indices(out_indices, num_layers)
        self.with_cls_token = with_cls_token
        self.num_register_tokens = num_register_tokens
        self.layer_scale = bool(layer_scale_init_value)
        self.final_norm = final_norm
        self.output_cls_token = output_cls_token
        self.out_origin = out_origin
        self.interpolate_mode = interpolate_mode
        self.norm_eval = norm_eval
        self.frozen_stages = frozen_stages
        self.strict_pretrained = strict_pretrained
        self.patch_bias = patch_bias
        self.frozen_exclude = tuple(frozen_exclude)
        self.pos_embed_resize = pos_embed_resize

        self.patch_embed = ViTPatchEmbed(in_channels, embed_dims, patch_size, bias=patch_bias,
                                         norm_cfg=norm_cfg if patch_norm else None)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        if num_register_tokens:
            self.reg_token = nn.Parameter(torch.zeros(1, num_register_tokens, embed_dims))
        self.pos_embed = nn.Parameter(
            torch.zeros(1, 1 + self.pos_grid[0] * self.pos_grid[1], embed_dims))
        self.drop_after_pos = nn.Dropout(p=drop_rate)
        if pre_norm:
            self.norm_pre = build_norm_layer(norm_cfg, embed_dims)[1]
        self.pre_norm = pre_norm

        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, num_layers, device='cpu')]
        self.blocks = ModuleList([
            ViTMonaBlock(
                embed_dims=embed_dims,
                num_heads=num_heads,
                feedforward_channels=int(mlp_ratio * embed_dims),
                qkv_bias=qkv_bias,
                drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate,
                drop_path_rate=dpr[i],
                layer_scale_init_value=layer_scale_init_value,
                act_cfg=act_cfg,
                norm_cfg=norm_cfg,
                with_cp=with_cp) for i in range(num_layers)
        ])
        if final_norm:
            self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
        if out_norms:
            self.add_out_norms(norm_cfg, {i: embed_dims for i in self.out_indices})

        self.apply_tuning(tuning, train_out_norms, deploy)
        self._check_frozen_exclude()

    @staticmethod
    def _resolve_out_indices(out_indices: Optional[Sequence[int]],
                             num_layers: int) -> Tuple[int, ...]:
        if out_indices is None:
            step = max(num_layers // 4, 1)
            return tuple(range(num_layers - 1 - 3 * step, num_layers, step)) if \
                num_layers >= 4 else tuple(range(num_layers))
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        bad = [i for i in out_indices if not -num_layers <= i < num_layers]
        if bad:
            raise ValueError(f'out_indices {bad} do not exist; this ViT has blocks '
                             f'0..{num_layers - 1}.')
        resolved = tuple(i % num_layers for i in out_indices)
        if list(resolved) != sorted(set(resolved)):
            raise ValueError(f'out_indices must name distinct blocks in forward order, got '
                             f'{tuple(out_indices)}.')
        return resolved

    # ----------------------------------------------------------------- the family's part
    def tuning_stages(self) -> List[Sequence[ViTMonaBlock]]:
        return [self.blocks]

    def frozen_stage_parts(self) -> List[Tuple[Tuple[str, ...], List[nn.Module]]]:
        """0 the patch embedding, 1 the position embedding, the class/register tokens and the
        pre-norm, 2 + i block i (the dropout after the position embedding with block 0)."""
        return [(('patch_embed', ), [self.patch_embed]),
                (('pos_embed', 'cls_token', 'reg_token', 'norm_pre'), [])] + [
            ((f'blocks.{i}', ), ([self.drop_after_pos] if i == 0 else []) + [block])
            for i, block in enumerate(self.blocks)]

    def is_frozen_part(self, name: str) -> bool:
        """Frozen by ``frozen_stages``, or, a pretrained parameter, by ``frozen_exclude``."""
        return super().is_frozen_part(name) or (
            'all' not in self.frozen_exclude and name in self.base_param_names
            and name not in self.out_norm_names() and not self._excluded(name))

    def _excluded(self, name: str) -> bool:
        """Whether ``name`` (or its mmseg name) contains one of ``frozen_exclude``."""
        names = (name, mmseg_param_name(name))
        return any(sub in n for sub in self.frozen_exclude for n in names)

    def _check_frozen_exclude(self) -> None:
        """An entry of ``frozen_exclude`` that names no parameter is an error (a typo would
        freeze what the user meant to train)."""
        if 'all' in self.frozen_exclude:
            return
        names = [(n, mmseg_param_name(n)) for n in self.base_param_names]
        unknown = [sub for sub in self.frozen_exclude
                   if not any(sub in a or sub in b for a, b in names)]
        if unknown:
            raise ValueError(f'frozen_exclude {unknown} match no parameter of this ViT (its names, '
                             f'or mmseg\'s such as layers.0.ln1.weight, pos_embed).')

    def convert_pretrained(self, state_dict: Dict[str, torch.Tensor]
                           ) -> Tuple[Dict[str, torch.Tensor], LoadReport]:
        state_dict, fmt, ignored = vit_to_backbone_keys(state_dict, patch_bias=self.patch_bias)
        check_vit_options(state_dict, layer_scale=self.layer_scale,
                          num_register_tokens=self.num_register_tokens)
        if not self.final_norm:  # the classifier's norm; mmseg's final_norm=False ignores it too
            ignored += [k for k in state_dict if k.startswith('norm.')]
            state_dict = {k: v for k, v in state_dict.items() if not k.startswith('norm.')}
        #: the rule of this load: the argument's, or else the file's family's
        self._load_resize_rule = self.pos_embed_resize or family_resize_rule(fmt) or 'mmseg'
        report = LoadReport(source_format=fmt, family=self.family, ignored=ignored,
                            resize_rule=f"'{self._load_resize_rule}' rule" + (
                                '' if self.pos_embed_resize else ", the file's family's"))
        report.notes = self._pos_embed_notes(fmt, state_dict.get('pos_embed'))
        return state_dict, report

    @property
    def forward_resize_rule(self) -> str:
        """The rule by which the table is resized to an input's grid at forward time."""
        return self.pos_embed_resize or 'mmseg'

    def _pos_embed_notes(self, fmt: str, pos_embed: Optional[torch.Tensor]) -> List[str]:
        """What the log says of the position table: the rule of the file's family when this
        backbone resizes otherwise, and a table resized twice (on load, then at forward)."""
        notes = []
        own = family_resize_rule(fmt)
        if own is not None and own != self.forward_resize_rule:
            notes.append(f"inputs of another grid than img_size's resize the position table at "
                         f"forward with the '{self.forward_resize_rule}' rule; the "
                         f"{fmt.split(' ')[0]} code resizes its table with '{own}': set "
                         f"pos_embed_resize='{own}' for its features at such sizes.")
        if pos_embed is not None and pos_embed.dim() == 3:
            side = math.isqrt(pos_embed.shape[1] - 1)
            if side * side == pos_embed.shape[1] - 1 and (side, side) != self.pos_grid:
                notes.append(f'the {side}x{side} position table is resized to {self.pos_grid[0]}x'
                             f'{self.pos_grid[1]} for img_size; inputs of another size resize '
                             f'it again at forward (twice from the file). img_size='
                             f'{side * self.patch_size} keeps the file\'s grid: one resize.')
        return notes

    def adapt_pretrained(self, key: str, value: torch.Tensor,
                         target: torch.Size) -> Optional[torch.Tensor]:
        """Position embeddings of another grid (DINOv2's 37 x 37, another image size) are resized
        to ``pos_grid`` by ``pos_embed_resize`` or else the file's family's rule; anything else
        of another shape is a mismatch."""
        if key == 'pos_embed' and value.shape[-1] == target[-1]:
            rule = getattr(self, '_load_resize_rule', self.forward_resize_rule)
            return resize_pos_embed(value, self.pos_grid, mode=self.interpolate_mode, rule=rule)
        return value

    def init_base_weights(self) -> None:
        """mmseg's scratch initialisation of its ViT: position embedding and class token
        trunc-normal(0.02), Linear trunc-normal(0.02) with zero bias, LayerNorm (1, 0), the patch
        convolution kaiming (fan-in); register tokens as the class token; layer scales keep their
        ``layer_scale_init_value``."""
        trunc_normal_(self.pos_embed, std=.02)
        trunc_normal_(self.cls_token, std=.02)
        if self.num_register_tokens:
            trunc_normal_(self.reg_token, std=.02)
        init_base_modules(self, init_linear_and_norm)
        kaiming_init(self.patch_embed.proj, mode='fan_in', bias=0.)

    # ----------------------------------------------------------------- forward
    def pos_embed_for(self, hw_shape: Tuple[int, int]) -> torch.Tensor:
        """The position embeddings for an ``h x w`` token grid: (1, 1 + h * w, C), interpolated
        from ``pos_grid`` when it differs (``interpolate_mode`` by :attr:`forward_resize_rule`)."""
        if tuple(hw_shape) == self.pos_grid:
            return self.pos_embed
        return resize_pos_embed(self.pos_embed, hw_shape, self.pos_grid, self.interpolate_mode,
                                self.forward_resize_rule)

    @staticmethod
    def resize_pos_embed(pos_embed: torch.Tensor, input_shpae: Sequence[int],
                         pos_shape: Sequence[int], mode: str = 'bicubic') -> torch.Tensor:
        """mmseg's ``VisionTransformer.resize_pos_embed``, with its arguments (their spelling
        too): ``pos_embed`` (1, 1 + H * W, C) laid out on ``pos_shape`` (H, W), resized to
        ``input_shpae`` (h, w) with ``mode``; the class token's row is kept."""
        return resize_pos_embed(pos_embed, input_shpae, pos_shape, mode)

    def train(self, mode: bool = True) -> 'ViTMona':
        """As the base class; with ``norm_eval``, every LayerNorm in eval mode (mmseg's option;
        a LayerNorm keeps no running statistics, so it computes the same)."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.LayerNorm):
                    m.eval()
        return self

    def _output(self, x: torch.Tensor, num_leading: int, hw_shape: Tuple[int, int],
                norm: Optional[nn.Module]):
        """One output: the patch tokens as a (B, C, h, w) map, normed by ``norm``; with
        ``output_cls_token``, ``[map, class token (B, C)]`` as mmseg's."""
        if norm is not None:
            x = norm(x)
        out = x[:, num_leading:]
        out = out.reshape(x.shape[0], *hw_shape, -1).permute(0, 3, 1, 2).contiguous()
        return [out, x[:, 0]] if self.output_cls_token else out

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Args: x: (B, 3, H, W). Returns: one (B, C, ceil(H/p), ceil(W/p)) map per
        ``out_indices``."""
        self.prepare_adapters()
        b = x.shape[0]
        x, hw_shape = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], dim=1)
        x = self.drop_after_pos(x + self.pos_embed_for(hw_shape))
        if not self.with_cls_token:
            x = x[:, 1:]
        if self.num_register_tokens:  # after the class token, without a position (DINOv2)
            lead = int(self.with_cls_token)
            x = torch.cat([x[:, :lead], self.reg_token.expand(b, -1, -1), x[:, lead:]], dim=1)
        if self.pre_norm:
            x = self.norm_pre(x)
        num_leading = x.shape[1] - hw_shape[0] * hw_shape[1]
        outs = [self._output(x, num_leading, hw_shape, None)] if self.out_origin else []
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            x = block(x, hw_shape)
            if i == last and self.final_norm:
                x = self.norm(x)
            if i in self.out_indices:
                norm = getattr(self, f'norm{i}') if self.out_norm_children else None
                outs.append(self._output(x, num_leading, hw_shape, norm))
        return tuple(outs)
