"""SwinMona: one Swin Transformer backbone that hosts every delta-tuning method.

Swin Transformer (Liu et al., ICCV 2021, arXiv 2103.14030); Mona (Yin et al., CVPR 2025,
arXiv 2408.08345, github.com/Leiyi-Hu/mona). The layers holding weights are mmdet's own
(``WindowMSA``/``ShiftWindowMSA``, mmcv's ``FFN``, ``PatchEmbed``, ``PatchMerging``), so the
state-dict keys, the Microsoft-checkpoint conversion and the numerics are those of mmdet/mmseg
``SwinTransformer``: with no adapters (``tuning='Fixed'`` or ``'Full'``) the output is the stock
one.

Why not subclass mmdet's ``SwinBlock``: it hides drop-path inside the attention and FFN modules
and adds the residual inside ``FFN``, so methods that act on a residual *branch* before drop-path
(Adapter, LoRand) or next to it (AdaptFormer) cannot be placed without rewriting its forward. The
block's forward with its named adapter slots is shared by every family (``tunable.SlotBlock``);
this file says only how Swin's branches are computed. A tuning method (``mona_mm.tuning``) fills
slots and says which pretrained parameters train; the backbone freezes everything else at
construction, after ``init_weights`` and in ``train()`` (``tunable.DeltaTunedBackbone``).

It takes mmdet's (and mmseg's) ``SwinTransformer`` arguments with their meaning, ``pretrained``
and ``frozen_stages`` included (0: the patch embedding and the absolute position embedding;
k >= 1: also stages 0..k-1 and their output norms, as mmdet), and refuses invalid values naming
the argument. Deliberate differences (docs/design.md): pretrained loading reports
missing/unexpected keys and refuses shape mismatches.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.transformer import FFN
from mmdet.models.backbones.swin import ShiftWindowMSA
from mmdet.models.layers import PatchEmbed, PatchMerging
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmengine.registry import MODELS
from mmengine.utils import to_2tuple

from .pretrained import LoadReport
from .swin_checkpoint import adapt_swin_tensor, swin_to_backbone_keys
from .tunable import (
    DeltaTunedBackbone,
    SlotBlock,
    init_base_modules,
    init_linear_and_norm,
    pretrained_init_cfg,
)


class SwinMonaBlock(SlotBlock):
    """A Swin block with named adapter slots (``tunable.SlotBlock``).

    Weights and keys are those of mmdet's ``SwinBlock`` (``norm1``, ``attn.w_msa.*``, ``norm2``,
    ``ffn.layers.*``); adapters are extra children named by their method (``mona1`` ...).
    """

    QKV = 'attn.w_msa.qkv'

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 window_size: int = 7,
                 shift: bool = False,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN'),
                 with_cp: bool = False) -> None:
        super().__init__(embed_dims, drop_path_rate, with_cp)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ShiftWindowMSA(
            embed_dims=embed_dims,
            num_heads=num_heads,
            window_size=window_size,
            shift_size=window_size // 2 if shift else 0,
            qkv_bias=qkv_bias,
            qk_scale=qk_scale,
            attn_drop_rate=attn_drop_rate,
            proj_drop_rate=drop_rate,
            dropout_layer=dict(type='DropPath', drop_prob=0.))
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(
            embed_dims=embed_dims,
            feedforward_channels=feedforward_channels,
            num_fcs=2,
            ffn_drop=drop_rate,
            dropout_layer=None,
            act_cfg=act_cfg,
            add_identity=False)

    def residual_attn(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        return self.attn(self.norm1(x), hw_shape)

    def residual_ffn(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.norm2(x))


class SwinMonaStage(BaseModule):
    """One stage: ``blocks`` then an optional ``downsample`` (mmdet's key layout)."""

    def __init__(self, depth: int, downsample: Optional[nn.Module], drop_path_rates: List[float],
                 **block_kwargs) -> None:
        super().__init__()
        self.blocks = ModuleList([
            SwinMonaBlock(shift=i % 2 == 1, drop_path_rate=drop_path_rates[i], **block_kwargs)
            for i in range(depth)
        ])
        self.downsample = downsample

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]):
        for block in self.blocks:
            x = block(x, hw_shape)
        if self.downsample is None:
            return x, hw_shape, x, hw_shape
        x_down, down_hw_shape = self.downsample(x, hw_shape)
        return x_down, down_hw_shape, x, hw_shape


def check_swin_arguments(pretrain_img_size, depths: Tuple[int, ...],
                         num_heads: Tuple[int, ...], strides: Sequence[int], patch_size: int,
                         out_indices: Sequence[int], frozen_stages: int) -> None:
    """Refuse what mmdet's SwinTransformer asserts (or fails on later), naming the argument,
    before anything is built.

    Raises:
        ValueError: the first argument found invalid.
    """
    if isinstance(pretrain_img_size, (tuple, list)):
        if len(pretrain_img_size) == 1:
            pretrain_img_size = pretrain_img_size[0]
        elif len(pretrain_img_size) != 2:
            raise ValueError('pretrain_img_size must be an int or a pair (height, width), got '
                             f'{tuple(pretrain_img_size)}.')
    num_stages = len(depths)
    if len(num_heads) != num_stages:
        raise ValueError(f'num_heads must have one entry per stage (depths has {num_stages}), '
                         f'got {num_heads}.')
    if len(strides) != num_stages:
        raise ValueError(f'strides must have one entry per stage (depths has {num_stages}), '
                         f'got {tuple(strides)}.')
    if strides[0] != patch_size:
        raise ValueError('Use non-overlapping patch embed: strides[0] must equal patch_size '
                         f'(strides={tuple(strides)}, patch_size={patch_size}).')
    bad = [i for i in out_indices if not (isinstance(i, int) and 0 <= i < num_stages)]
    if bad or not out_indices:
        raise ValueError(f'out_indices must name stages 0..{num_stages - 1}, got '
                         f'{tuple(out_indices)}.')
    if not (isinstance(frozen_stages, int) and -1 <= frozen_stages <= num_stages):
        raise ValueError(f'frozen_stages must be an int from -1 (none) to {num_stages} (the '
                         f'patch embedding and all {num_stages} stages), got {frozen_stages!r}.')


@MODELS.register_module()
class SwinMona(DeltaTunedBackbone):
    """Swin Transformer backbone with a declarative delta-tuning method.

    Arguments are those of mmdet's ``SwinTransformer`` (so its configs carry over), plus:

    Args:
        arch (str, optional): ``'tiny'``, ``'small'``, ``'base'`` or ``'large'``; fills
            ``embed_dims``, ``depths`` and ``num_heads`` (explicit values win). Default: None.
        tuning (str | dict | list): The tuning method(s), e.g. ``dict(type='Mona', bottleneck=64)``
            or ``[dict(type='Mona'), dict(type='BitFit')]``. Default: ``dict(type='Mona')``.
        train_out_norms (bool): Also train the output norms ``norm{i}`` (not in ImageNet
            checkpoints; the official code keeps them frozen at identity). Methods that train
            them by their own rule (Full, NormTuning) do so regardless. Default: False.
        frozen_stages (int): mmdet's semantics: -1 nothing; 0 the patch embedding and the
            absolute position embedding; k >= 1 also stages 0..k-1 with their output norms, in
            eval mode. Frozen whatever the tuning method, adapters inside them included (the
            official code's ``frozen_stages=1`` is ``0`` here). Default: -1.
        convert_weights (bool, optional): Force (True) or forbid (False) the Microsoft-checkpoint
            key conversion; None detects the format. Default: None.
        strict_pretrained (bool): Missing pretrained keys other than adapters' own and the output
            norms are an error. Default: True.
        deploy (bool): Build the merged (deployment) structure, into which a checkpoint written
            by ``tools/model_converters/merge_adapters.py`` loads. Default: False.
        pretrained (str, optional): The host's deprecated form of
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``, as mmseg treats it (with
            a DeprecationWarning; mmdet 3.3 accepts it and then drops it without a word). Not
            with ``init_cfg``. Default: None.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads pretrained
            weights (any Microsoft, mmdet/mmseg or ``backbone.``-prefixed Swin checkpoint).
    """

    family = 'Swin'
    arch_zoo = {
        'tiny': dict(embed_dims=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24)),
        'small': dict(embed_dims=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24)),
        'base': dict(embed_dims=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32)),
        'large': dict(embed_dims=192, depths=(2, 2, 18, 2), num_heads=(6, 12, 24, 48)),
    }

    def __init__(self,
                 arch: Optional[str] = None,
                 pretrain_img_size: Union[int, Tuple[int, int]] = 224,
                 in_channels: int = 3,
                 embed_dims: Optional[int] = None,
                 patch_size: int = 4,
                 window_size: int = 7,
                 mlp_ratio: int = 4,
                 depths: Optional[Sequence[int]] = None,
                 num_heads: Optional[Sequence[int]] = None,
                 strides: Sequence[int] = (4, 2, 2, 2),
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 patch_norm: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 use_abs_pos_embed: bool = False,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN'),
                 with_cp: bool = False,
                 pretrained: Optional[str] = None,
                 tuning=dict(type='Mona'),
                 train_out_norms: bool = False,
                 frozen_stages: int = -1,
                 convert_weights: Optional[bool] = None,
                 strict_pretrained: bool = True,
                 deploy: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        if arch is not None and arch not in self.arch_zoo:
            raise KeyError(f'Unknown Swin arch {arch!r}; valid: {sorted(self.arch_zoo)}')
        zoo = self.arch_zoo[arch or 'tiny']
        embed_dims = embed_dims or zoo['embed_dims']
        depths = tuple(depths or zoo['depths'])
        num_heads = tuple(num_heads or zoo['num_heads'])
        check_swin_arguments(pretrain_img_size=pretrain_img_size, depths=depths,
                             num_heads=num_heads, strides=strides, patch_size=patch_size,
                             out_indices=out_indices, frozen_stages=frozen_stages)
        super().__init__(init_cfg=pretrained_init_cfg(pretrained, init_cfg))
        self.out_indices = tuple(out_indices)
        self.use_abs_pos_embed = use_abs_pos_embed
        self.frozen_stages = frozen_stages
        self.convert_weights = convert_weights
        self.strict_pretrained = strict_pretrained

        self.patch_embed = PatchEmbed(
            in_channels=in_channels,
            embed_dims=embed_dims,
            conv_type='Conv2d',
            kernel_size=patch_size,
            stride=strides[0],
            norm_cfg=norm_cfg if patch_norm else None)
        if use_abs_pos_embed:
            img = to_2tuple(pretrain_img_size)
            num_patches = (img[0] // patch_size) * (img[1] // patch_size)
            self.absolute_pos_embed = nn.Parameter(torch.zeros((1, num_patches, embed_dims)))
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depths), device='cpu')]
        self.stages = ModuleList()
        channels = embed_dims
        for i, depth in enumerate(depths):
            downsample = PatchMerging(
                in_channels=channels,
                out_channels=2 * channels,
                stride=strides[i + 1],
                norm_cfg=norm_cfg if patch_norm else None) if i < len(depths) - 1 else None
            self.stages.append(
                SwinMonaStage(
                    depth=depth,
                    downsample=downsample,
                    drop_path_rates=dpr[sum(depths[:i]):sum(depths[:i + 1])],
                    embed_dims=channels,
                    num_heads=num_heads[i],
                    feedforward_channels=mlp_ratio * channels,
                    window_size=window_size,
                    qkv_bias=qkv_bias,
                    qk_scale=qk_scale,
                    drop_rate=drop_rate,
                    attn_drop_rate=attn_drop_rate,
                    act_cfg=act_cfg,
                    norm_cfg=norm_cfg,
                    with_cp=with_cp))
            if downsample is not None:
                channels = downsample.out_channels
        self.num_features = [int(embed_dims * 2**i) for i in range(len(depths))]
        self.add_out_norms(norm_cfg, {i: self.num_features[i] for i in self.out_indices})

        self.apply_tuning(tuning, train_out_norms, deploy)

    # ----------------------------------------------------------------- the family's part
    def tuning_stages(self) -> List[Sequence[SwinMonaBlock]]:
        return [stage.blocks for stage in self.stages]

    def frozen_stage_parts(self) -> List[Tuple[Tuple[str, ...], List[nn.Module]]]:
        """mmdet's ``_freeze_stages``: 0 the patch embedding and the absolute position
        embedding (dropout after it in eval mode), 1 + i stage i and, if it is an output, its
        norm."""
        parts = [(('patch_embed', 'absolute_pos_embed'), [self.patch_embed, self.drop_after_pos])]
        for i, stage in enumerate(self.stages):
            norm = (f'norm{i}', ) if i in self.out_indices else ()
            parts.append(((f'stages.{i}', ) + norm, [stage] + [getattr(self, n) for n in norm]))
        return parts

    def convert_pretrained(self, state_dict: Dict[str, torch.Tensor]
                           ) -> Tuple[Dict[str, torch.Tensor], LoadReport]:
        state_dict, fmt, ignored = swin_to_backbone_keys(state_dict, self.convert_weights)
        return state_dict, LoadReport(source_format=fmt, family=self.family, ignored=ignored)

    def adapt_pretrained(self, key: str, value: torch.Tensor,
                         target: torch.Size) -> Optional[torch.Tensor]:
        return adapt_swin_tensor(key, value, target)

    def pretrained_may_lack(self, key: str) -> bool:
        return key.endswith('relative_position_index')  # a buffer the model computes itself

    def init_base_weights(self) -> None:
        """mmdet's scratch initialisation of Swin, and ``WindowMSA.init_weights`` (trunc-normal
        relative-position tables, which mmdet leaves at zero; docs/design.md)."""
        if self.use_abs_pos_embed:
            trunc_normal_(self.absolute_pos_embed, std=0.02)
        init_base_modules(self, init_linear_and_norm)
        for m in self.modules():
            if hasattr(m, 'w_msa'):
                m.w_msa.init_weights()

    # ----------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Args: x: (B, 3, H, W). Returns: one (B, C_i, H_i, W_i) map per ``out_indices``."""
        self.prepare_adapters()
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            x = x + self.absolute_pos_embed
        x = self.drop_after_pos(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape, out, out_hw_shape = stage(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(out)
                outs.append(
                    out.view(-1, *out_hw_shape, self.num_features[i]).permute(0, 3, 1,
                                                                              2).contiguous())
        return outs
