"""Evaluate a checkpoint on an mmdet, mmseg or mmrotate config (COCO AP, mIoU, VOC/DOTA mAP).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--tta] [--cfg-options K=V ...]
    python tools/test.py CONFIG DELTA_CHECKPOINT [--base BASE_WEIGHTS]   # adapter-only checkpoint
    python tools/test.py CONFIG CHECKPOINT --show-dir DIR [--out FILE.pkl | --out DIR]
    bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [...]
"""
import argparse
import os
import sys

if '--cpu' in sys.argv[1:]:  # hide the GPUs before mmengine's import asks CUDA about them
    os.environ['CUDA_VISIBLE_DEVICES'] = ''

from mona_mm.runner import enable_tta, parse_tool_args, run_test
from mona_mm.visualization import enable_drawing, enable_dump


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
    parser.add_argument(
        '--out', help='dump the predictions: a .pkl file for mmdet/mmrotate configs, a folder '
        'of label PNGs for mmseg configs (as the host tools do)')
    parser.add_argument(
        '--show-dir', help='draw every test image, ground truth next to prediction: mmdet/'
        'mmrotate into DIR (under WORK_DIR/TIMESTAMP/ unless absolute), mmseg into '
        'DIR/vis_data/vis_image/')
    parser.add_argument('--show', action='store_true', help='show each drawing in a window')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each drawing is shown with --show')
    args = parse_tool_args(parser)
    try:
        if args.show or args.show_dir:
            enable_drawing(args.cfg, args.show_dir, args.show, args.wait_time)
        if args.out:
            enable_dump(args.cfg, args.out)
    except (RuntimeError, ValueError) as e:
        parser.error(str(e))
    if args.tta:
        enable_tta(args.cfg)
    run_test(args.cfg, args.checkpoint, args.base)


if __name__ == '__main__':
    main()
