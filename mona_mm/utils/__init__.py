from . import optim  # noqa: F401  (registers SummaryOptimWrapperConstructor)
from .params import PARTS, PartCount, count_by_part, format_param_table, tuned_backbones

__all__ = ['PARTS', 'PartCount', 'count_by_part', 'format_param_table', 'tuned_backbones']
