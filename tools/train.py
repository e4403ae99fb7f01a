"""Train an mmdet, mmseg or mmrotate config (the host library is the config's default_scope).

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--resume [CKPT]] [--cfg-options K=V ...]
    bash tools/dist_train.sh CONFIG GPUS [...]        # torchrun; gloo on a CPU machine
"""
import argparse

from mmengine.config import Config, DictAction

from mona_mm.runner import build_runner, enable_amp, local_rank_from_env, merge_args, set_resume


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector / segmentor with mona_mm')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument('--amp', action='store_true', help='mixed precision (CUDA only)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the latest checkpoint of the work dir when no path')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=10')
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
    if args.amp:
        enable_amp(cfg)
    set_resume(cfg, args.resume)
    build_runner(cfg).train()


if __name__ == '__main__':
    main()
