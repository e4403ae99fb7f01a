"""Inference entry point that accepts full, delta (adapter-only) and merged checkpoints.

    model = init_model('configs/mask_rcnn_swin_mona_coco.py', 'delta.pth', base='swin_b.pth')
    result = mmdet.apis.inference_detector(model, 'demo.jpg')   # or mmseg.apis.inference_model
"""
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config

from mona_mm.checkpoints import check_fits, is_delta, load_delta
from mona_mm.checkpoints.strict import strip_module_prefix
from mona_mm.models.backbones.pretrained import load_checkpoint_file
from mona_mm.runner import build_model


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               base: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the model of ``config`` and load ``checkpoint`` (a delta needs its ``base``).

    The returned model is in eval mode on ``device`` and carries ``cfg`` and ``dataset_meta`` as
    the host libraries' ``inference_*`` functions expect.

    Raises:
        CheckpointFileError: the file is missing, truncated or not a checkpoint.
        CheckpointMismatchError: a full or merged checkpoint that does not fit the model
            (loading is strict: the first few missing, unexpected and mis-shaped keys are named).
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = build_model(cfg)
    model.cfg = cfg
    if checkpoint is not None:
        ckpt = load_checkpoint_file(checkpoint, 'checkpoint')
        if is_delta(ckpt):
            load_delta(model, ckpt, base)
        elif base is not None:
            raise ValueError('base is only for delta checkpoints; this one is a full checkpoint.')
        else:
            check_fits(model, ckpt, checkpoint)
            model.load_state_dict(strip_module_prefix(ckpt.get('state_dict', ckpt)), strict=True)
        meta = ckpt.get('meta', {}).get('dataset_meta')
        if meta is not None:
            model.dataset_meta = meta
    return model.to(device).eval()
