"""Generate the tiny synthetic oriented-detection set in mmrotate's split DOTA layout.

Examples (from the repository root)::

    python tools/misc/make_tiny_dota.py data/tiny_dota           # trainval/, val/, test/
    python tools/misc/make_tiny_dota.py data/tiny_star --star    # STAR: train/, test/
"""
import argparse
import os.path as osp
import sys
import time

# Make ``mona_mm`` importable without installing it (like PYTHONPATH=.).
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mona_mm.datasets.synthetic_dota import make_synthetic_dota  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a tiny synthetic oriented-detection dataset in the layout of '
        "mmrotate's DOTA split tool (images/*.png, annfiles/*.txt with 8-point polygons).")
    parser.add_argument('out_dir', help='dataset root, e.g. data/tiny_dota')
    parser.add_argument('--star', action='store_true',
                        help="STAR's layout (train/, test/, both labelled) and class names "
                        "instead of DOTA-v1.0's (trainval/, val/, unlabelled test/)")
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-val', type=int, default=16,
                        help='images of the labelled evaluation split (val/, or test/ for STAR)')
    parser.add_argument('--num-test', type=int, default=8,
                        help='unlabelled test images (DOTA layout only)')
    parser.add_argument('--image-size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    info = make_synthetic_dota(
        args.out_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=args.num_test,
        image_size=args.image_size,
        seed=args.seed,
        star=args.star)
    print(f'Wrote tiny {info["layout"].upper()} dataset to {info["data_root"]} '
          f'in {time.perf_counter() - start:.1f}s')
    print(f'  classes: {", ".join(info["classes"])}')
    splits = ('train', 'test') if args.star else ('trainval', 'val', 'test')
    for split in splits:
        labels = info[f'{split}_ann_dir'] or 'no labels'
        print(f'  {split}: {info[f"num_{split}_images"]} images, '
              f'{info[f"num_{split}_instances"]} objects\n'
              f'    {info[f"{split}_img_dir"]}\n'
              f'    {labels}')


if __name__ == '__main__':
    main()
