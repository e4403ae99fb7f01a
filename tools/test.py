"""Evaluate a checkpoint on an mmdet, mmseg or mmrotate config (COCO AP, mIoU, VOC/DOTA mAP).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--tta] [--cfg-options K=V ...]
    python tools/test.py CONFIG DELTA_CHECKPOINT [--base BASE_WEIGHTS]   # adapter-only checkpoint
    bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [...]
"""
import argparse

from mmengine.config import Config, DictAction

from mona_mm.runner import enable_tta, local_rank_from_env, merge_args, run_test


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a detector / segmentor with mona_mm')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--base', help='base weights for a delta checkpoint (default: the one it records, '
        "else the config's pretrained backbone)")
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation of the config (e.g. multi-scale flip)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=2')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    local_rank_from_env(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args.launcher, args.work_dir,
                     args.cfg_options, args.config)
    if args.tta:
        enable_tta(cfg)
    run_test(cfg, args.checkpoint, args.base)


if __name__ == '__main__':
    main()
