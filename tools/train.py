"""Train an mmdet, mmseg or mmrotate config (the host library is the config's default_scope).

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--resume [CKPT]] [--cfg-options K=V ...]
    python tools/train.py CONFIG --cpu                # on the CPU on purpose (gloo, BN, fp32)
    bash tools/dist_train.sh CONFIG GPUS [...]        # torchrun; with --cpu: CPU processes, gloo
"""
import argparse
import os
import sys

if '--cpu' in sys.argv[1:]:  # hide the GPUs before mmengine's import asks CUDA about them
    os.environ['CUDA_VISIBLE_DEVICES'] = ''

from mona_mm.runner import enable_amp, parse_tool_args, run_train, set_resume


def main() -> None:
    parser = argparse.ArgumentParser(description='Train a detector / segmentor with mona_mm')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument('--amp', action='store_true', help='mixed precision (CUDA only)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the newest complete checkpoint of the work dir when no '
        'path')
    args = parse_tool_args(parser)
    if args.amp:
        enable_amp(args.cfg)
    set_resume(args.cfg, args.resume)
    run_train(args.cfg)


if __name__ == '__main__':
    main()
