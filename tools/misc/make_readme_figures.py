"""Regenerate the pictures of README.md (docs/images/*.png) from runs of this repository.

    python tools/misc/make_readme_figures.py                 # both pictures
    python tools/misc/make_readme_figures.py --only predictions
    python tools/misc/make_readme_figures.py --only benchmark

predictions (docs/images/quick_start_predictions.png): the README's quick start as written (the
generated tiny COCO set in data/tiny_coco, configs/tiny/mask-rcnn_swin-mona_tiny-coco.py trained
for its 12 epochs, a few minutes on a CPU; skipped when --checkpoint is given or the work dir
already holds it), then ``tools/test.py --show-dir`` on its validation scenes: the first
``--scenes`` drawings (mmdet's, ground truth left, prediction right) tiled into one image.

benchmark (docs/images/benchmark.png): ``python benchmarks/bench_tuning.py --plot``, the default
setting of docs/benchmarks.md (long on a CPU: every method, three models).

The pictures are stored as palette PNGs, tens of KB each. Run from anywhere; commands run in the
repository root, as the README's do.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import tempfile
from typing import List

from PIL import Image, ImageDraw

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IMAGES = osp.join(ROOT, 'docs', 'images')
CONFIG = 'configs/tiny/mask-rcnn_swin-mona_tiny-coco.py'
LABEL_HEIGHT = 14


def run(args: List[str]) -> None:
    """Run a command of the README in the repository root; stop on failure."""
    print('+', ' '.join(args), flush=True)
    subprocess.run([sys.executable] + args, cwd=ROOT, check=True)


def save_small_png(image: Image.Image, path: str, colors: int = 128) -> None:
    """Write ``image`` as an optimised palette PNG (drawings and charts have few colours)."""
    image.convert('RGB').quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(
        path, optimize=True)
    print(f'{osp.relpath(path, ROOT)}: {os.path.getsize(path) // 1024} KB')


def tile_drawings(paths: List[str], columns: int, scale: int) -> Image.Image:
    """Tile drawings (each ground truth | prediction) in a grid, each under a label row."""
    drawings = [Image.open(p).convert('RGB') for p in paths]
    w, h = drawings[0].size
    w, h = w * scale, h * scale
    rows = -(-len(drawings) // columns)
    sheet = Image.new('RGB', (columns * w, rows * (h + LABEL_HEIGHT)), 'white')
    pen = ImageDraw.Draw(sheet)
    for i, drawing in enumerate(drawings):
        x, y = (i % columns) * w, (i // columns) * (h + LABEL_HEIGHT)
        pen.text((x + 4, y + 1), 'ground truth', fill='black')
        pen.text((x + w // 2 + 4, y + 1), 'prediction', fill='black')
        sheet.paste(drawing.resize((w, h), Image.Resampling.NEAREST), (x, y + LABEL_HEIGHT))
    return sheet


def predictions(args: argparse.Namespace) -> None:
    checkpoint = args.checkpoint or osp.join(args.work_dir, 'epoch_12.pth')
    if not osp.exists(osp.join(ROOT, 'data', 'tiny_coco', 'annotations')):
        run(['tools/misc/make_tiny_data.py', 'coco', 'data/tiny_coco'])
    if not osp.exists(osp.join(ROOT, checkpoint)):
        run(['tools/train.py', CONFIG, '--work-dir', args.work_dir])
    with tempfile.TemporaryDirectory() as tmp:
        run(['tools/test.py', CONFIG, checkpoint, '--work-dir', osp.join(tmp, 'work'),
             '--show-dir', osp.join(tmp, 'show')])
        names = sorted(os.listdir(osp.join(tmp, 'show')))[:args.scenes]
        sheet = tile_drawings([osp.join(tmp, 'show', n) for n in names], args.columns,
                              args.scale)
    save_small_png(sheet, osp.join(IMAGES, 'quick_start_predictions.png'))


def benchmark(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chart = osp.join(tmp, 'benchmark.png')
        run(['benchmarks/bench_tuning.py', '--plot', chart])
        save_small_png(Image.open(chart), osp.join(IMAGES, 'benchmark.png'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', choices=['predictions', 'benchmark'])
    parser.add_argument('--work-dir', default='work_dirs/mask-rcnn_swin-mona_tiny-coco',
                        help="the quick start's work dir (relative to the repository root)")
    parser.add_argument('--checkpoint', help='a trained quick-start checkpoint to draw with')
    parser.add_argument('--scenes', type=int, default=4, help='validation scenes to show')
    parser.add_argument('--columns', type=int, default=2)
    parser.add_argument('--scale', type=int, default=2, help='enlargement of the 128 px scenes')
    args = parser.parse_args()
    os.makedirs(IMAGES, exist_ok=True)
    if args.only in (None, 'predictions'):
        predictions(args)
    if args.only in (None, 'benchmark'):
        benchmark(args)


if __name__ == '__main__':
    main()
