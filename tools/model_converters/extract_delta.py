"""Write the adapter-only ("delta") checkpoint of a full checkpoint.

    python tools/model_converters/extract_delta.py CONFIG CHECKPOINT OUT [--base NAME]
    python tools/test.py CONFIG OUT [--base BASE_WEIGHTS]

OUT must not be CHECKPOINT (the frozen tensors, optimizer and scheduler state would be gone); it
is written atomically. CHECKPOINT must be a full checkpoint of CONFIG's model. The delta records
its base, which must be a file a tool can load: the config's pretrained file by default, --base
PATH, or --write-base (the checkpoint's own frozen backbone, written beside OUT as
OUT_STEM.base.pth: for a backbone that started from no pretrained file).
"""
import argparse
import os
import os.path as osp
import re

from mmengine.config import Config

from mona_mm.checkpoints import check_fits, is_delta, make_delta, refuse_same_file, save_atomic
from mona_mm.checkpoints.strict import whole_checkpoint
from mona_mm.models.backbones.pretrained import load_checkpoint_file
from mona_mm.runner import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description='Extract an adapter-only checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--base', help="the base weights' file or URL (default: the config's "
                        'pretrained file)')
    parser.add_argument('--write-base', action='store_true',
                        help="write the checkpoint's frozen backbone beside OUT as the base")
    args = parser.parse_args()
    refuse_same_file(args.checkpoint, args.out, 'extract_delta.py')
    full = whole_checkpoint(load_checkpoint_file(args.checkpoint, 'checkpoint'), args.checkpoint)
    if is_delta(full):
        raise ValueError(f'{args.checkpoint} is already a delta checkpoint.')
    model = build_model(Config.fromfile(args.config))
    check_fits(model, full, args.checkpoint)
    base = args.base or (model.backbone.init_cfg or {}).get('checkpoint')
    if args.write_base:
        base = osp.splitext(args.out)[0] + '.base.pth'
        refuse_same_file(args.checkpoint, base, 'extract_delta.py')
        state = full['state_dict']
        save_atomic({'state_dict': {k: v for k, v in state.items() if k.startswith('backbone.')
                                    and k[9:] not in model.backbone.adapter_param_names}}, base)
    elif base is None:
        parser.error(f'{args.config} loads no pretrained backbone, so the delta would name no base '
                     f'and no tool could load it: pass --base PATH (the weights the backbone '
                     f'started from) or --write-base (the checkpoint\'s frozen backbone, written '
                     f'beside OUT).')
    elif not re.match(r'^[a-zA-Z][\w+.-]*://', base) and not osp.isfile(base):
        parser.error(f'--base {base} is not a file: the delta must name base weights a tool '
                     f'can load (a path or URL).')
    delta = make_delta(full, model, base)
    save_atomic(delta, args.out)
    size = os.path.getsize(args.out) / os.path.getsize(args.checkpoint)
    print(f'{args.out}: {len(delta["state_dict"])} of {len(full["state_dict"])} tensors, '
          f'{100 * size:.1f}% of the full file; base: {delta["meta"]["mona_mm_delta"]["base"]}')


if __name__ == '__main__':
    main()
