"""Train an mmdet, mmseg or mmrotate config (the host library is the config's default_scope).

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--resume [CKPT]] [--cfg-options K=V ...]
    bash tools/dist_train.sh CONFIG GPUS [...]        # torchrun; gloo on a CPU machine
"""
import argparse

from mona_mm.runner import build_runner, enable_amp, parse_tool_args, set_resume


def main() -> None:
    parser = argparse.ArgumentParser(description='Train a detector / segmentor with mona_mm')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument('--amp', action='store_true', help='mixed precision (CUDA only)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the latest checkpoint of the work dir when no path')
    args = parse_tool_args(parser)
    if args.amp:
        enable_amp(args.cfg)
    set_resume(args.cfg, args.resume)
    build_runner(args.cfg).train()


if __name__ == '__main__':
    main()
