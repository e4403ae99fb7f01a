"""Generate a tiny synthetic ADE20K, Pascal VOC, Potsdam or LoveDA set in the real on-disk layout.

Examples (from the repository root; the paths are those of the configs in configs/tiny/)::

    python tools/misc/make_tiny_data.py ade20k data/tiny_ade20k
    python tools/misc/make_tiny_data.py voc data/tiny_voc/VOCdevkit
    python tools/misc/make_tiny_data.py potsdam data/tiny_potsdam
    python tools/misc/make_tiny_data.py loveda data/tiny_loveda
"""
import argparse
import os.path as osp
import sys
import time

# Make ``mona_mm`` importable without installing it (like PYTHONPATH=.).
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mona_mm.datasets.synthetic_seg import SEG_LAYOUTS, make_synthetic_seg  # noqa: E402
from mona_mm.datasets.synthetic_voc import make_synthetic_voc  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a tiny synthetic dataset (coloured shapes) in the layout the host '
        'library reads: ADE20K/Potsdam/LoveDA for mmseg, VOCdevkit (VOC2007 + VOC2012) for mmdet.')
    parser.add_argument('dataset', choices=sorted(SEG_LAYOUTS) + ['voc'])
    parser.add_argument('out_dir', help='dataset root (for voc: the VOCdevkit folder)')
    parser.add_argument(
        '--num-train', type=int, default=16,
        help='training images (voc: trainval images of each of VOC2007 and VOC2012)')
    parser.add_argument(
        '--num-val', type=int, default=8,
        help='validation images (voc: VOC2007 test images)')
    parser.add_argument(
        '--image-size', type=int, default=None,
        help='side of the square images (default: 128, voc 192)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    if args.dataset == 'voc':
        info = make_synthetic_voc(
            args.out_dir,
            num_trainval_2007=args.num_train,
            num_test_2007=args.num_val,
            num_trainval_2012=args.num_train,
            image_size=args.image_size or 192,
            seed=args.seed)
        print(f'Wrote tiny VOCdevkit to {info["data_root"]} '
              f'in {time.perf_counter() - start:.1f}s')
        print(f'  classes: {", ".join(info["classes"])} (VOC names; drawn as shapes)')
        for year in ('VOC2007', 'VOC2012'):
            splits = ', '.join(f'{split} {len(info[f"{year}_{split}_ids"])}'
                               for split in ('trainval', 'test')
                               if f'{year}_{split}_ids' in info)
            print(f'  {year}: {splits} images, {info[f"{year}_num_objects"]} objects '
                  f'({info[f"{year}_num_difficult"]} difficult)')
        return
    info = make_synthetic_seg(
        args.out_dir,
        dataset=args.dataset,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=args.image_size or 128,
        seed=args.seed)
    print(f'Wrote tiny {args.dataset} set to {info["data_root"]} '
          f'in {time.perf_counter() - start:.1f}s')
    labels = ', '.join(f'{shape} {value}' for shape, value in info['shape_labels'].items())
    print(f'  labels: background {info["background_label"]}, {labels}, 0 = unlabelled ring')
    for split in ('train', 'val'):
        print(f'  {split}: {info[f"num_{split}_images"]} images\n'
              f'    {info[f"{split}_img_dir"]}\n'
              f'    {info[f"{split}_ann_dir"]}')


if __name__ == '__main__':
    main()
