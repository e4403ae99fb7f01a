"""Convert a checkpoint of the official Mona code or of STAR-MMRotate to mona_mm's keys.

    python tools/model_converters/mona_official2mona_mm.py IN.pth OUT.pth
    python tools/test.py CONFIG OUT.pth

Only checkpoints of Swin with Mona modules are converted: a delta checkpoint, another
architecture or the official Adapter / AdaptFormer files (whose modules are named like Monas) are
refused. OUT must not be IN; it is written atomically.
"""
import argparse

from mona_mm.checkpoints import convert_official_mona, is_delta, refuse_same_file, save_atomic
from mona_mm.models.backbones.pretrained import load_checkpoint_file


def main() -> None:
    parser = argparse.ArgumentParser(description='Convert official Mona checkpoints')
    parser.add_argument('src')
    parser.add_argument('dst')
    args = parser.parse_args()
    refuse_same_file(args.src, args.dst, 'mona_official2mona_mm.py')
    # mmdet 2.x / mmseg 0.x checkpoints pickle mmcv objects (Config, ...) in their meta, which
    # torch's weights-only loader refuses: convert only files you trust.
    ckpt = load_checkpoint_file(args.src, 'official Mona checkpoint', weights_only=False)
    if is_delta(ckpt):
        raise ValueError(f'{args.src} is a mona_mm delta checkpoint, not an official one: test '
                         f'it with tools/test.py CONFIG {args.src} --base BASE.')
    state = ckpt.get('state_dict', ckpt.get('model', ckpt))
    try:
        converted = convert_official_mona(state)
    except (KeyError, ValueError) as e:
        raise ValueError(f'{args.src}: {e.args[0]}') from None
    meta = dict(converted_from=args.src)  # the old meta holds objects of mmcv 1.x
    save_atomic(dict(meta=meta, state_dict=converted), args.dst)
    print(f'{args.dst}: {len(converted)} tensors')


if __name__ == '__main__':
    main()
