"""Fold Mona, LoRA and LoRand into plain layers and write a deployment checkpoint.

    python tools/model_converters/merge_adapters.py CONFIG CHECKPOINT OUT
    python tools/test.py CONFIG OUT --cfg-options model.backbone.deploy=True

OUT must not be CHECKPOINT; it is written atomically. CHECKPOINT must be a full, unmerged
checkpoint of CONFIG's model.
"""
import argparse

from mmengine.config import Config

from mona_mm.checkpoints import MERGED_KEY, check_fits, is_delta, refuse_same_file, save_atomic
from mona_mm.checkpoints.strict import strip_module_prefix, whole_checkpoint
from mona_mm.models import merge_adapters
from mona_mm.models.backbones.pretrained import load_checkpoint_file
from mona_mm.runner import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description='Merge adapters for deployment')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    args = parser.parse_args()
    refuse_same_file(args.checkpoint, args.out, 'merge_adapters.py')
    ckpt = whole_checkpoint(load_checkpoint_file(args.checkpoint, 'checkpoint'), args.checkpoint)
    if MERGED_KEY in ckpt.get('meta', {}):
        raise ValueError(f'{args.checkpoint} is already merged.')
    if is_delta(ckpt):
        raise ValueError(f'{args.checkpoint} is a delta checkpoint: merge its full checkpoint '
                         f'(python tools/test.py ... --base BASE evaluates the delta as it is).')
    model = build_model(Config.fromfile(args.config))
    check_fits(model, ckpt, args.checkpoint)
    model.load_state_dict(strip_module_prefix(ckpt['state_dict']), strict=True)
    merged = merge_adapters(model)
    meta = dict(ckpt.get('meta', {}), **{MERGED_KEY: merged})
    save_atomic(dict(meta=meta, state_dict=model.state_dict()), args.out)
    print(f'{args.out}: merged {len(merged)} modules; load it with '
          f'--cfg-options model.backbone.deploy=True')


if __name__ == '__main__':
    main()
