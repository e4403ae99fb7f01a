"""A delta-tuning method is data, not a backbone subclass.

A method says two things about a Swin backbone (``mona_mm.models.SwinMona``):

* which modules it *inserts* (``insert``): adapters placed in named slots of each block (see
  ``SwinMonaBlock.SLOTS``) or layers it wraps in place;
* which *pretrained* parameters stay trainable (``trainable_base``: a set of the backbone's
  parameter names; BitFit: the names containing ``bias``; Full: all of them).

Every parameter a method inserts is trainable; which parameters those are is found structurally
(the backbone compares its parameter names before and after insertion), never by name substring.
Methods are registered in ``TUNING_METHODS`` and chosen in a config by
``tuning=dict(type='Mona', bottleneck=64)`` or a list of such dicts to combine methods.
Adding a method means one new file in this package plus one row in the test matrix.
"""
import inspect
from typing import TYPE_CHECKING, Any, Dict, List, Sequence, Set, Union

from mmengine.registry import Registry

if TYPE_CHECKING:
    from mona_mm.models.backbones.swin_mona import SwinMona

TUNING_METHODS = Registry('tuning method', scope='mona_mm', locations=['mona_mm.tuning'])


class TuningMethod:
    """Base class of delta-tuning methods.

    Subclasses set :attr:`combinable` to False when combining them with another method is
    meaningless (Full trains everything; Fixed trains nothing by definition), and override
    :meth:`insert` and/or :meth:`trainable_base`. A method that overrides one of them and
    selects nothing with it is an error (the backbone checks).
    """

    #: whether this method may be listed together with other methods
    combinable: bool = True

    def insert(self, backbone: 'SwinMona') -> None:
        """Add this method's modules to ``backbone`` (default: none)."""

    def trainable_base(self, backbone: 'SwinMona') -> Set[str]:
        """Names of pretrained backbone parameters that stay trainable (default: none).

        ``backbone.base_param_names`` holds every candidate name.
        """
        return set()

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items() if not k.startswith('_'))
        return f'{self.name}({args})'


TuningCfg = Union[None, str, Dict[str, Any], Sequence[Union[str, Dict[str, Any]]]]


def build_tuning_methods(cfg: TuningCfg) -> List[TuningMethod]:
    """Build the method list of a backbone's ``tuning`` field.

    Args:
        cfg: ``None`` or ``'Fixed'``-style name, one ``dict(type=..., **hyper_parameters)``, or a
            list of them to combine methods.

    Raises:
        KeyError: an unknown method name (the message lists the registered ones).
        TypeError: an unknown hyper-parameter (the message lists the valid ones).
        ValueError: a combination that makes no sense (a method twice, or Full/Fixed with others).
    """
    if cfg is None:
        return []
    items = [cfg] if isinstance(cfg, (str, dict)) else list(cfg)
    methods = [_build_one(dict(type=c) if isinstance(c, str) else dict(c)) for c in items]
    names = [m.name for m in methods]
    for m in methods:
        if len(methods) > 1 and not m.combinable:
            raise ValueError(f'Tuning method {m.name} cannot be combined with other methods '
                             f'(got {names}); use it alone.')
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(f'Tuning method(s) {dups} listed more than once in {names}.')
    return methods


def _build_one(cfg: Dict[str, Any]) -> TuningMethod:
    if 'type' not in cfg:
        raise KeyError(f'A tuning method config needs a "type" key, got {cfg}. '
                       f'Valid types: {available_methods()}')
    kind = cfg.pop('type')
    cls = TUNING_METHODS.get(kind) if isinstance(kind, str) else kind
    if cls is None:
        raise KeyError(f'Unknown tuning method {kind!r}. Valid types: {available_methods()}')
    params = inspect.signature(cls.__init__).parameters
    valid = [p for p in params if p != 'self']
    unknown = sorted(set(cfg) - set(valid))
    if unknown:
        raise TypeError(f'Unknown hyper-parameter(s) {unknown} for tuning method {kind!r}. '
                        f'Valid: {valid}')
    return cls(**cfg)


def available_methods() -> List[str]:
    """Names of the registered tuning methods."""
    TUNING_METHODS.import_from_location()
    return sorted(TUNING_METHODS.module_dict)
