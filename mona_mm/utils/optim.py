"""An optimizer-wrapper constructor whose log is one summary line, not one line per parameter.

mmengine's ``DefaultOptimWrapperConstructor`` logs a warning for every parameter it leaves out
because it is frozen (``... is skipped since its requires_grad=False``) and an INFO line for
every ``paramwise_cfg`` setting of every parameter: with a frozen Swin-B, 333 warnings and 289
lines before the first useful one, which read as if something were wrong. A delta-tuned model
is frozen on purpose, so here they become one line: the groups, the trainable tensors, the
frozen ones left out and the paramwise settings applied. Everything else is mmengine's
(``tools/train.py`` uses this constructor where a config names none).
"""
import logging
from collections import Counter

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

_FROZEN = 'is skipped since its requires_grad=False'
_PARAMWISE = 'paramwise_options -- '


class _Collapse(logging.Filter):
    """Counts and drops the per-parameter lines of mmengine's constructor."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = 0
        self.settings: Counter = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.endswith(_FROZEN):
            self.frozen += 1
            return False
        if message.startswith(_PARAMWISE):
            self.settings[message.rsplit(':', 1)[-1].split('=')[0]] += 1
            return False
        return True


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SummaryOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, logging one summary line instead of one per parameter."""

    def __call__(self, model):
        logger = MMLogger.get_current_instance()
        collapse = _Collapse()
        logger.addFilter(collapse)
        try:
            wrapper = super().__call__(model)
        finally:
            logger.removeFilter(collapse)
        groups = wrapper.optimizer.param_groups
        tensors = sum(len(g['params']) for g in groups)
        settings = ', '.join(f'{k} on {n}' for k, n in sorted(collapse.settings.items()))
        print_log(f'Optimizer {type(wrapper.optimizer).__name__}: {tensors} trainable tensors in '
                  f'{len(groups)} parameter groups; {collapse.frozen} frozen tensors left out '
                  f'(requires_grad=False); paramwise settings: {settings or "none"}.',
                  logger='current')
        return wrapper
