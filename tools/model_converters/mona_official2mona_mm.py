"""Convert a checkpoint of the official Mona code or of STAR-MMRotate to mona_mm's keys.

    python tools/model_converters/mona_official2mona_mm.py IN.pth OUT.pth
    python tools/test.py CONFIG OUT.pth
"""
import argparse

import torch

from mona_mm.checkpoints import convert_official_mona


def main() -> None:
    parser = argparse.ArgumentParser(description='Convert official Mona checkpoints')
    parser.add_argument('src')
    parser.add_argument('dst')
    args = parser.parse_args()
    # mmdet 2.x / mmseg 0.x checkpoints pickle mmcv objects (Config, ...) in their meta, which
    # torch's weights-only loader refuses: convert only files you trust.
    ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    state = ckpt.get('state_dict', ckpt.get('model', ckpt))
    converted = convert_official_mona(state)
    meta = dict(converted_from=args.src)  # the old meta holds objects of mmcv 1.x
    torch.save(dict(meta=meta, state_dict=converted), args.dst)
    print(f'{args.dst}: {len(converted)} tensors')


if __name__ == '__main__':
    main()
