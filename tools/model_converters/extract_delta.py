"""Write the adapter-only ("delta") checkpoint of a full checkpoint.

    python tools/model_converters/extract_delta.py CONFIG CHECKPOINT OUT [--base NAME]
    python tools/test.py CONFIG OUT [--base BASE_WEIGHTS]
"""
import argparse
import os

import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from mona_mm.checkpoints import make_delta
from mona_mm.runner import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description='Extract an adapter-only checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--base', help="name of the base weights (default: the config's)")
    args = parser.parse_args()
    model = build_model(Config.fromfile(args.config))
    full = CheckpointLoader.load_checkpoint(args.checkpoint, map_location='cpu')
    delta = make_delta(full, model, args.base)
    torch.save(delta, args.out)
    size = os.path.getsize(args.out) / os.path.getsize(args.checkpoint)
    print(f'{args.out}: {len(delta["state_dict"])} of {len(full["state_dict"])} tensors, '
          f'{100 * size:.1f}% of the full file; base: {delta["meta"]["mona_mm_delta"]["base"]}')


if __name__ == '__main__':
    main()
