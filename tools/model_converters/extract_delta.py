"""Write the adapter-only ("delta") checkpoint of a full checkpoint.

    python tools/model_converters/extract_delta.py CONFIG CHECKPOINT OUT [--base NAME]
    python tools/test.py CONFIG OUT [--base BASE_WEIGHTS]

OUT must not be CHECKPOINT (the frozen tensors, optimizer and scheduler state would be gone); it
is written atomically. CHECKPOINT must be a full checkpoint of CONFIG's model.
"""
import argparse
import os

from mmengine.config import Config

from mona_mm.checkpoints import check_fits, is_delta, make_delta, refuse_same_file, save_atomic
from mona_mm.models.backbones.pretrained import load_checkpoint_file
from mona_mm.runner import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description='Extract an adapter-only checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--base', help="name of the base weights (default: the config's)")
    args = parser.parse_args()
    refuse_same_file(args.checkpoint, args.out, 'extract_delta.py')
    full = load_checkpoint_file(args.checkpoint, 'checkpoint')
    if is_delta(full):
        raise ValueError(f'{args.checkpoint} is already a delta checkpoint.')
    model = build_model(Config.fromfile(args.config))
    check_fits(model, full, args.checkpoint)
    delta = make_delta(full, model, args.base)
    save_atomic(delta, args.out)
    size = os.path.getsize(args.out) / os.path.getsize(args.checkpoint)
    print(f'{args.out}: {len(delta["state_dict"])} of {len(full["state_dict"])} tensors, '
          f'{100 * size:.1f}% of the full file; base: {delta["meta"]["mona_mm_delta"]["base"]}')


if __name__ == '__main__':
    main()
