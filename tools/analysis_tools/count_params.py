"""Print the trainable-parameter table of a config without training.

    python tools/analysis_tools/count_params.py CONFIG [--cfg-options K=V ...]

Parts: backbone adapters, other trainable backbone parameters, frozen backbone, neck, heads,
with percentages of the backbone (the paper's way of reporting).
"""
import argparse

from mmengine.config import Config, DictAction

from mona_mm.runner import build_model
from mona_mm.utils import count_by_part, format_param_table


def main() -> None:
    parser = argparse.ArgumentParser(description='Count trainable parameters by part')
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg)
    methods = getattr(model.backbone, 'tuning_methods', [])
    print(f'{args.config}\ntuning: {", ".join(map(repr, methods)) or "none"}')
    print(format_param_table(count_by_part(model)))


if __name__ == '__main__':
    main()
