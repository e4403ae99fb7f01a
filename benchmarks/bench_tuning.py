"""Training and inference cost of every tuning method, side by side, as ratios.

    python benchmarks/bench_tuning.py                      # Swin-T backbone, Mask R-CNN, UperNet
    python benchmarks/bench_tuning.py --task upernet --size 512 --batch 2 --device cuda
    python benchmarks/bench_tuning.py --tiny               # seconds; what the test suite runs
"""
import argparse
import os
import os.path as osp
import sys

# the CPU memory column uses the profiler: keep its warnings out of the tables
os.environ.setdefault('TORCH_CPP_LOG_LEVEL', 'ERROR')

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mona_mm.benchmark import (INFER_COLUMNS, METHODS, TASKS, TRAIN_COLUMNS,  # noqa: E402
                               compare_inference, compare_training, environment, format_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=list(TASKS) + ['all'], default='all')
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        help='tuning methods; METHOD+cp adds with_cp=True')
    parser.add_argument('--size', type=int, default=256, help='square input size')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default='cuda' if __import__('torch').cuda.is_available()
                        else 'cpu')
    parser.add_argument('--tiny', action='store_true',
                        help='64 px, Full/Adapter/Mona/Mona+cp, one repeat: a smoke run')
    args = parser.parse_args()
    if args.tiny:
        args.size, args.batch, args.repeats = 64, 2, 1  # batch 2: UperNet's pooled BN
        args.methods = ['Full', 'Adapter', 'Mona', 'Mona+cp']
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    print(environment(args.device))
    print(f'command: python benchmarks/bench_tuning.py {" ".join(sys.argv[1:])}')
    tasks = list(TASKS) if args.task == 'all' else [args.task]
    for task in tasks:
        rows = compare_training(task, args.methods, args.size, args.batch, args.repeats,
                                device=args.device, root=root)
        print(f'\n## training step, {task}, Swin-T, {args.size}x{args.size}, batch {args.batch}')
        print(format_rows(rows, *TRAIN_COLUMNS))
    rows = compare_inference(args.size, 1, 3 if args.tiny else 10, device=args.device)
    print(f'\n## inference, Swin-T backbone, {args.size}x{args.size}, batch 1')
    print(format_rows(rows, *INFER_COLUMNS))


if __name__ == '__main__':
    main()
