"""Evaluate a checkpoint on an mmdet, mmseg or mmrotate config (COCO AP, mIoU, VOC/DOTA mAP).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--tta] [--cfg-options K=V ...]
    python tools/test.py CONFIG DELTA_CHECKPOINT [--base BASE_WEIGHTS]   # adapter-only checkpoint
    bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [...]
"""
import argparse

from mona_mm.runner import enable_tta, parse_tool_args, run_test


def main() -> None:
    parser = argparse.ArgumentParser(description='Test a detector / segmentor with mona_mm')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file (full, delta or merged)')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--base', help='base weights for a delta checkpoint (default: the one it records, '
        "else the config's pretrained backbone)")
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation of the config (e.g. multi-scale flip)')
    args = parse_tool_args(parser)
    if args.tta:
        enable_tta(args.cfg)
    run_test(args.cfg, args.checkpoint, args.base)


if __name__ == '__main__':
    main()
