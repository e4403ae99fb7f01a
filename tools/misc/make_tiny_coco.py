"""Generate the tiny synthetic COCO-format dataset used as mona_mm's default.

Example (from the repository root)::

    python tools/misc/make_tiny_coco.py data/tiny_coco
"""
import argparse
import os.path as osp
import sys
import time

# Make ``mona_mm`` importable without installing it (like PYTHONPATH=.).
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mona_mm.datasets.synthetic_coco import make_synthetic_coco  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a tiny synthetic instance-segmentation dataset '
        'in COCO 2017 layout (annotations/, train2017/, val2017/).')
    parser.add_argument(
        'out_dir', nargs='?', default='data/tiny_coco',
        help='dataset root (default: data/tiny_coco)')
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-val', type=int, default=16)
    parser.add_argument('--image-size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    info = make_synthetic_coco(
        args.out_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=args.image_size,
        seed=args.seed)
    print(f'Wrote tiny COCO dataset to {info["data_root"]} '
          f'in {time.perf_counter() - start:.1f}s')
    print(f'  classes: {", ".join(info["classes"])}')
    for split in ('train', 'val'):
        print(f'  {split}: {info[f"num_{split}_images"]} images, '
              f'{info[f"num_{split}_instances"]} instances\n'
              f'    {info[f"{split}_ann_file"]}\n'
              f'    {info[f"{split}_img_dir"]}')


if __name__ == '__main__':
    main()
