"""Fold Mona, LoRA and LoRand into plain layers and write a deployment checkpoint.

    python tools/model_converters/merge_adapters.py CONFIG CHECKPOINT OUT
    python tools/test.py CONFIG OUT --cfg-options model.backbone.deploy=True
"""
import argparse

import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from mona_mm.models import merge_adapters
from mona_mm.runner import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description='Merge adapters for deployment')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    args = parser.parse_args()
    model = build_model(Config.fromfile(args.config))
    ckpt = CheckpointLoader.load_checkpoint(args.checkpoint, map_location='cpu')
    model.load_state_dict(ckpt['state_dict'], strict=True)
    merged = merge_adapters(model)
    meta = dict(ckpt.get('meta', {}), mona_mm_merged=merged)
    torch.save(dict(meta=meta, state_dict=model.state_dict()), args.out)
    print(f'{args.out}: merged {len(merged)} modules; load it with '
          f'--cfg-options model.backbone.deploy=True')


if __name__ == '__main__':
    main()
