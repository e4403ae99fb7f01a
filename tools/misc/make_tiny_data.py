"""Write a tiny generated dataset in a real on-disk layout (mona_mm.testing), in seconds.

Examples (from the repository root; the paths are those of the configs in configs/tiny/)::

    python tools/misc/make_tiny_data.py coco data/tiny_coco
    python tools/misc/make_tiny_data.py voc data/tiny_voc/VOCdevkit
    python tools/misc/make_tiny_data.py ade20k data/tiny_ade20k      # also potsdam, loveda
    python tools/misc/make_tiny_data.py dota data/tiny_dota
    python tools/misc/make_tiny_data.py star data/tiny_star
"""
import argparse
import os
import os.path as osp
import sys
import time
from functools import partial
from typing import List, Optional

# Make ``mona_mm`` importable without installing it (like PYTHONPATH=.).
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mona_mm.testing import (  # noqa: E402
    make_synthetic_coco,
    make_synthetic_dota,
    make_synthetic_seg,
    make_synthetic_voc,
)

DATASETS = ('coco', 'voc', 'ade20k', 'potsdam', 'loveda', 'dota', 'star')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a tiny set of generated scenes (coloured shapes) in the layout the '
        "host library reads. Options left out keep the generator's defaults (mona_mm.testing).")
    parser.add_argument('dataset', choices=DATASETS)
    parser.add_argument('out_dir', help='dataset root (voc: the VOCdevkit folder)')
    parser.add_argument('--num-train', type=int,
                        help='training images (voc: trainval images of VOC2007 and of VOC2012)')
    parser.add_argument('--num-val', type=int,
                        help='images of the labelled evaluation split (voc: VOC2007 test, star: '
                        'test/)')
    parser.add_argument('--num-test', type=int, help='unlabelled test images (dota only)')
    parser.add_argument('--image-size', type=int, help='side of the square images in pixels')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.num_test is not None and args.dataset != 'dota':
        parser.error(f'--num-test applies to dota only (the {args.dataset} layout has no '
                     'unlabelled test split)')
    return args


def make(args: argparse.Namespace) -> dict:
    """Call the dataset's generator with the options given; the others keep its defaults."""
    counts = dict(num_train=args.num_train, num_val=args.num_val)
    if args.dataset == 'coco':
        generate = make_synthetic_coco
    elif args.dataset == 'voc':  # trains on VOC2007 + VOC2012 trainval, tests on VOC2007 test
        generate = make_synthetic_voc
        counts = dict(num_trainval_2007=args.num_train, num_trainval_2012=args.num_train,
                      num_test_2007=args.num_val)
    elif args.dataset in ('dota', 'star'):
        generate = partial(make_synthetic_dota, star=args.dataset == 'star')
        counts.update(num_test=args.num_test)
    else:
        generate = partial(make_synthetic_seg, dataset=args.dataset)
    options = dict(counts, image_size=args.image_size, seed=args.seed)
    return generate(args.out_dir, **{k: v for k, v in options.items() if v is not None})


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    info = make(args)
    root = info['data_root']
    print(f'Wrote tiny {args.dataset} set to {root} in {time.perf_counter() - start:.1f}s')
    if 'classes' in info:
        print(f'  classes: {", ".join(info["classes"])}')
    else:
        print(f'  labels: background {info["background_label"]}, '
              + ', '.join(f'{shape} {value}' for shape, value in info['shape_labels'].items())
              + ', 0 unlabelled (the ring around each shape)')
    for folder, _, files in sorted(os.walk(root)):
        if files:
            print(f'  {osp.relpath(folder, root)}/: {len(files)} files')


if __name__ == '__main__':
    main()
