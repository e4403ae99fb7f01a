"""Plot the loss and metrics of a training run from its json log, as a PNG.

    python tools/analysis_tools/plot_logs.py WORK_DIR [--keys loss coco/bbox_mAP] [--out FILE]
    python tools/analysis_tools/plot_logs.py WORK_DIR/TIMESTAMP/vis_data/TIMESTAMP.json

Default keys: the loss and its parts (against the iteration) and the headline validation
metrics (COCO bbox/segm mAP, VOC/DOTA mAP, mIoU; against the epoch or iteration). For TensorBoard
instead, see README "Training curves".
"""
import argparse

from mona_mm.utils.training_log import find_json_log, plot_log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('log', help='a work dir (its newest run) or a json log')
    parser.add_argument('--keys', nargs='+', help='log keys to plot (default: loss and metrics)')
    parser.add_argument('--out', default='curves.png', help='image file (default: curves.png)')
    parser.add_argument('--title', help="figure title (default: the log's path)")
    args = parser.parse_args()
    try:
        log = find_json_log(args.log)
        plot_log(log, args.out, args.keys, args.title)
    except (FileNotFoundError, KeyError) as e:
        parser.error(str(e).strip('"'))
    print(f'{log} -> {args.out}')


if __name__ == '__main__':
    main()
