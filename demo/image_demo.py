"""Run a trained model on your own images: drawings and json predictions.

    python demo/image_demo.py IMAGE_OR_FOLDER CONFIG CHECKPOINT --out-dir DIR
    python demo/image_demo.py IMAGE_OR_FOLDER CONFIG DELTA_CHECKPOINT --base BASE --out-dir DIR

Works for detection, segmentation and oriented-detection configs (the config's default_scope)
and full, delta and merged checkpoints (merged: --cfg-options model.backbone.deploy=True).
Writes DIR/vis/NAME (the host library's drawing) and DIR/preds/STEM.json (see
mona_mm/inference.py for the fields).
"""
import argparse
import os.path as osp
from collections import Counter

import torch
from mmengine.config import DictAction

from mona_mm.apis import init_model
from mona_mm.inference import list_images, read_image, run_inference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image', help='an image file, or a folder of images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (full, delta or merged)')
    parser.add_argument('--base', help='base weights of a delta checkpoint')
    parser.add_argument('--out-dir', default='outputs',
                        help='receives vis/ (drawings) and preds/ (json); default: outputs')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detections below this score are not drawn (all go to json)')
    parser.add_argument('--show', action='store_true', help='also show each drawing')
    parser.add_argument('--wait-time', type=float, default=0,
                        help='seconds each drawing is shown with --show (0: until a key)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.backbone.deploy=True')
    args = parser.parse_args()
    try:
        images = list_images(args.image)
        for image in images:  # a path that is not an image fails before the model is built
            read_image(image)
    except (FileNotFoundError, ValueError) as e:
        parser.error(str(e))
    model = init_model(args.config, args.checkpoint, base=args.base, device=args.device,
                       cfg_options=args.cfg_options)
    try:
        results = run_inference(model, images, args.out_dir, args.score_thr, args.show,
                                args.wait_time)
    except (RuntimeError, ValueError) as e:
        parser.error(str(e))
    for result in results:
        if 'sem_seg' in result:
            counts = Counter(c for row in result['sem_seg'] for c in row)
            found = f'{len(counts)} classes, most pixels: ' + ', '.join(
                result['classes'][c] for c, _ in counts.most_common(3))
        else:
            found = (f'{sum(s >= args.score_thr for s in result["scores"])} objects above '
                     f'{args.score_thr}')
        print(f'{result["image"]} ({result["width"]}x{result["height"]}): {found}')
    print(f'drawings in {osp.join(args.out_dir, "vis")}, predictions in '
          f'{osp.join(args.out_dir, "preds")}')


if __name__ == '__main__':
    main()
