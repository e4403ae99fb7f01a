"""Training and inference cost of every tuning method, side by side, as ratios.

    python benchmarks/bench_tuning.py                      # Swin-T, ViT-S, Mask R-CNN, UperNet
    python benchmarks/bench_tuning.py --task vit-backbone --size 224 --count   # ViT-S counts
    python benchmarks/bench_tuning.py --task upernet --size 512 --batch 2 --device cuda --amp
    python benchmarks/bench_tuning.py --tiny               # seconds; what the test suite runs
    python benchmarks/bench_tuning.py --plot bench.png     # also a chart of the ratios to Full

The measurement is benchmarks/tuning_cost.py, the chart benchmarks/plot.py; results and how to
read them: docs/benchmarks.md.
"""
import argparse
import os
import os.path as osp
import platform
import sys

# the CPU memory column uses the profiler: keep its C++ warnings out of the tables
os.environ.setdefault('TORCH_CPP_LOG_LEVEL', 'ERROR')

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402

from benchmarks import plot, tuning_cost  # noqa: E402
from mona_mm.utils.params import format_table  # noqa: E402

TINY_METHODS = ['Full', 'Adapter', 'Mona', 'Mona+cp']

#: (row key, header, cell format) of each table's columns
TRAIN_COLUMNS = [('method', 'method', str),
                 ('step', 'step', lambda v: f'{v * 1000:.0f} ms'),
                 ('step_ratio', 'vs Full', lambda v: f'{v:.2f}x'),
                 ('memory', 'memory', lambda v: f'{v / 2**20:.0f} MiB'),
                 ('memory_ratio', 'vs Full', lambda v: f'{v:.2f}x'),
                 ('trainable', 'trainable', lambda v: f'{v:,}')]
COUNT_COLUMNS = [('method', 'method', str),
                 ('step_ratio', 'step vs Full', lambda v: f'{v:.2f}x'),
                 ('ops_forward', 'fwd', str), ('ops_backward', 'bwd', str),
                 ('ops_optimizer', 'opt', str), ('ops', 'ops', str),
                 ('ops_ratio', 'vs Full', lambda v: f'{v:.2f}x'),
                 ('tiny', 'tiny', str), ('syncs', 'syncs', str), ('host', 'host', str),
                 ('saved', 'saved', lambda v: f'{v / 2**20:.0f} MiB'),
                 ('saved_ratio', 'vs Full', lambda v: f'{v:.2f}x'),
                 ('flops', 'GFLOP', lambda v: f'{v / 1e9:.1f}'),
                 ('touched', 'touched', lambda v: f'{v / 2**30:.2f} GiB')]
INFER_COLUMNS = [('model', 'backbone', str),
                 ('latency', 'latency', lambda v: f'{v * 1000:.1f} ms'),
                 ('ratio', 'vs plain', lambda v: f'{v:.2f}x')]


def table(rows, columns) -> str:
    """The rows as a text table with the given columns."""
    return format_table([[header for _, header, _ in columns]] +
                        [[fmt(row[key]) for key, _, fmt in columns] for row in rows])


def environment(device: str) -> str:
    """One line naming the device, threads and library versions the numbers depend on."""
    import mmdet
    import mmengine
    name = torch.cuda.get_device_name() if device == 'cuda' else platform.processor() or 'cpu'
    return (f'device {device} ({name}), {torch.get_num_threads()} threads, '
            f'torch {torch.__version__}, mmengine {mmengine.__version__}, '
            f'mmdet {mmdet.__version__}, python {platform.python_version()}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=list(tuning_cost.TASKS) + ['all'], default='all')
    parser.add_argument('--methods', nargs='+', default=None,
                        help='tuning methods (default: every registered one, and Mona+cp); '
                        'METHOD+cp adds with_cp=True; Mona+autograd runs Mona\'s layers '
                        'module by module under autograd, as before its fused step')
    parser.add_argument('--size', type=int, default=256, help='square input size')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', choices=['cpu', 'cuda'],
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true',
                        help='float16 autocast with a dynamic loss scale, as tools/train.py '
                        '--amp (meant for cuda)')
    parser.add_argument('--tiny', action='store_true',
                        help=f'64 px, {"/".join(TINY_METHODS)} (unless --methods), no '
                        'warm-up, one repeat: a smoke run')
    parser.add_argument('--count', action='store_true',
                        help='also count, per method, the ops one step dispatches (forward, '
                        'backward, optimizer; tiny ones, host syncs), the bytes kept for '
                        'backward, FLOPs and bytes touched (deterministic; benchmarks/op_count.py)')
    parser.add_argument('--plot', metavar='FILE',
                        help='also draw step time and memory relative to Full as a chart (PNG)')
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: PyTorch sees no CUDA device here.')
    if args.tiny:
        args.size, args.batch, args.repeats = 64, 2, 1  # batch 2: UperNet's pooled BN
        args.methods = args.methods or TINY_METHODS
    methods = args.methods or tuning_cost.default_methods()
    print(environment(args.device))
    print(f'command: python benchmarks/bench_tuning.py {" ".join(sys.argv[1:])}')
    precision = ', AMP (float16)' if args.amp else ''
    results = {}
    for task in list(tuning_cost.TASKS) if args.task == 'all' else [args.task]:
        rows = tuning_cost.compare_training(task, methods, args.size, args.batch, args.repeats,
                                            warmup=0 if args.tiny else 1, device=args.device,
                                            amp=args.amp, count=args.count)
        results[task] = rows
        print(f'\n## training step, {task}, {tuning_cost.backbone_name(task)}, {args.size}x'
              f'{args.size}, batch {args.batch}'
              f'{precision}')
        print(table(rows, TRAIN_COLUMNS))
        if args.count:
            print(f'\n## counts of one training step, {task} (ops dispatched, views and '
                  'allocations not counted; saved for backward)')
            print(table(rows, COUNT_COLUMNS))
    rows = tuning_cost.compare_inference(args.size, 1, 3 if args.tiny else 10,
                                         device=args.device, amp=args.amp)
    print(f'\n## inference, Swin-T backbone, {args.size}x{args.size}, batch 1{precision}')
    print(table(rows, INFER_COLUMNS))
    if args.plot:
        setting = (f'{args.size}x{args.size}, batch {args.batch}{precision}; '
                   + ', '.join(environment(args.device).split(', ')[:2]))  # device, threads
        plot.plot_training(results, args.plot, setting)
        print(f'\nchart: {args.plot}')


if __name__ == '__main__':
    main()
