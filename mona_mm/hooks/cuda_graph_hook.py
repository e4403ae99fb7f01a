"""Capture the backbone's training forward and backward as CUDA graphs, for fixed input shapes.

On a GPU at these model sizes a training step waits on the host, kernel by kernel (issue 20: the
H200's step times fit ``0.8 ms + 49.7 us x ops``). A CUDA graph launches the captured kernels of
the backbone's forward, and those of its backward, as one unit each: the per-op host cost goes,
for Full and every delta-tuning method alike.

Usage in a config::

    custom_hooks = [..., dict(type='CudaGraphHook')]
    # more than one input shape captured (each costs its own activation memory):
    custom_hooks = [..., dict(type='CudaGraphHook', max_shapes=2)]

At ``before_train`` the hook replaces the ``forward`` of ``runner.model``'s backbone (unwrapping
``MMDistributedDataParallel`` and similar wrappers via ``.module``) with a dispatcher
(:func:`capture_backbone`; the module itself is not wrapped in a parent, so state-dict keys and
checkpoints are unchanged). In training mode, with gradients enabled, on a CUDA input, the first
call with a given input shape and dtype (and autocast state) captures the backbone with
``torch.cuda.make_graphed_callables`` (its warm-up iterations on a side stream, then one forward
and one backward graph; under AMP inside ``autocast(cache_enabled=False)``, which capture
requires); every later call with that key replays the graphs. Everything else runs the backbone
eagerly as before: eval mode, ``torch.no_grad``, CPU inputs, and input shapes other than the
``max_shapes`` captured ones; a shape that differs from the captured ones logs one line (per
shape, the first ten shapes). Capture therefore pays off where shapes are fixed: segmentation
crops, fixed-size detection (not multi-scale training).

What capture requires, and what the dispatcher checks (otherwise it runs eagerly and says why):

- no forward/backward hooks on the backbone's modules (they would run once at capture and never
  again): capture is refused with a warning and the backbone stays eager;
- parameters hold no gradient when a captured forward starts. The graph writes the parameters'
  gradients into its own static buffers, which autograd hands to ``param.grad`` without a copy;
  the step must clear them with ``zero_grad(set_to_none=True)`` (PyTorch's and mmengine's
  default). Under gradient accumulation (``accumulative_counts > 1``) the accumulating forwards
  run eagerly, which keeps the sums right;
- the previous replay's outputs are no longer alive and waiting for their backward (a second
  backbone call of the same shape in one step would overwrite the first one's saved activations):
  such a call runs eagerly;
- the trainable set is the one captured (a change, e.g. unfreezing a stage, captures anew within
  ``max_shapes`` or runs eagerly).

Dropout and drop-path draw from PyTorch's default CUDA generator, which every capture registers
(graph-safe philox offsets), so each replay draws fresh random numbers as eager mode does.
Captured outputs are the graph's static tensors, valid until the next replay: a caller that keeps
the backbone's features across iterations must clone them. On a machine without CUDA the hook
logs that capture is off and changes nothing.
"""
import contextlib
import weakref
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.registry import HOOKS

#: shapes that differ from the captured ones are logged, one line each, for this many shapes
MAX_LOGGED_SHAPES = 10
WHY_FIXED = 'capture needs fixed shapes: segmentation crops, fixed-size detection'


def _shape(key: tuple) -> str:
    return str(tuple(key[0]))


class CapturedForward:
    """The dispatcher installed as ``backbone.forward`` by :func:`capture_backbone`.

    Attributes:
        graphs: capture key (shape, dtype, device, autocast dtype or None, trainable flags) ->
            the graphed callable of ``make_graphed_callables``.
        replays / eager_calls / captures: counts of the calls that took each path.
    """

    def __init__(self, module: nn.Module, max_shapes: int = 1, num_warmup_iters: int = 3,
                 logger: Optional[MMLogger] = None) -> None:
        if max_shapes < 1:
            raise ValueError(f'CudaGraphHook: max_shapes must be at least 1, got {max_shapes}.')
        if num_warmup_iters < 1:
            raise ValueError('CudaGraphHook: num_warmup_iters must be at least 1 (PyTorch '
                             'requires warm-up iterations before capture), got '
                             f'{num_warmup_iters}.')
        self.module = module
        self.name = type(module).__name__
        self.max_shapes = max_shapes
        self.num_warmup_iters = num_warmup_iters
        self.logger = logger
        # the forward in use before (an instance attribute when someone set one, else the class's)
        self._had_own_forward = 'forward' in module.__dict__
        self.eager_forward: Callable = module.forward
        self.graphs: Dict[tuple, Callable] = {}
        self.replays = self.eager_calls = self.captures = 0
        self._logged: set = set()
        self._pending: Optional[tuple] = None  # (weakref to the last replay's backward node, ran)
        self._params = list(module.parameters())
        #: why every call runs eagerly (a failed capture, module hooks), or None
        self.disabled: Optional[str] = None
        #: False: every call runs eagerly, silently (the graphs are kept); for side-by-side timing
        self.active = True

    # ------------------------------------------------------------------ logging
    def _log(self, tag: Any, message: str, level: str = 'info') -> None:
        """Log ``message`` once per ``tag``."""
        if tag in self._logged:
            return
        self._logged.add(tag)
        logger = self.logger or MMLogger.get_current_instance()
        getattr(logger, level)(f'CudaGraphHook: {message}')

    # ------------------------------------------------------------------ dispatch
    def _key(self, x: torch.Tensor) -> tuple:
        amp = torch.get_autocast_dtype('cuda') if torch.is_autocast_enabled('cuda') else None
        return (tuple(x.shape), x.dtype, x.device, amp,
                tuple(p.requires_grad for p in self._params))

    def _eager_reason(self, args: tuple, kwargs: dict) -> Optional[str]:
        """Why this call must run eagerly (None: it may replay or capture)."""
        if self.disabled:
            return self.disabled
        if not self.active:
            return 'inactive'
        if not self.module.training:
            return 'eval mode'
        if not torch.is_grad_enabled():
            return 'no grad'
        if kwargs or len(args) != 1 or not torch.is_tensor(args[0]):
            return 'the call is not forward(tensor)'
        if args[0].device.type != 'cuda':
            return f'input on {args[0].device.type}'
        return None

    def __call__(self, *args, **kwargs):
        reason = self._eager_reason(args, kwargs)
        if reason is None:
            x = args[0]
            key = self._key(x)
            graphed = self.graphs.get(key)
            if graphed is None and len(self.graphs) >= self.max_shapes:
                self._log_shape(key)
            elif any(p.grad is not None for p in self._params if p.requires_grad):
                self._log('grads', f'parameters of the {self.name} already hold gradients at '
                          'the start of a forward (gradient accumulation, or zero_grad('
                          'set_to_none=False)): such forwards run eagerly; the others replay.',
                          'warning')
            elif self._backward_pending():
                self._log('pending', f'the {self.name} was called again before the backward of '
                          'its last replay: the graph would overwrite what that backward '
                          'needs; such calls run eagerly.', 'warning')
            else:
                if graphed is None:
                    graphed = self._capture(key, x)
                if graphed is not None:
                    return self._replay(graphed, x)
        self.eager_calls += 1
        return self.eager_forward(*args, **kwargs)

    def _log_shape(self, key: tuple) -> None:
        shapes = {_shape(k) for k in self.graphs}
        if _shape(key) in shapes:  # same shape, another dtype/autocast/trainable set
            tag, what = key, (f'input {_shape(key)} ({key[1]}, autocast {key[3]}, or another '
                              'trainable set) differs from what was captured')
        else:
            tag, what = _shape(key), f'input shape {_shape(key)} differs from the captured ' + \
                ', '.join(sorted(shapes))
        if tag in self._logged:
            return
        logged_shapes = [t for t in self._logged if isinstance(t, str) and t.startswith('(')]
        if len(logged_shapes) == MAX_LOGGED_SHAPES:
            self._log('too many', f'more input shapes than {MAX_LOGGED_SHAPES} differ from the '
                      'captured; not logging the others (they run eagerly).')
            return
        self._log(tag, f'{what}; running the {self.name} eagerly ({WHY_FIXED}; '
                  f'max_shapes={self.max_shapes}).')

    def _replay(self, graphed: Callable, x: torch.Tensor):
        self.replays += 1
        out = graphed(x)
        tensors = [o for o in (out if isinstance(out, (list, tuple)) else [out])
                   if torch.is_tensor(o) and o.grad_fn is not None]
        if tensors:
            # the graph's backward node: pending while it lives and has not run yet
            node, ran = tensors[0].grad_fn, []
            node.register_prehook(lambda grads: ran.append(True))
            self._pending = (weakref.ref(node), ran)
        return out

    def _backward_pending(self) -> bool:
        """The last replay's backward node is alive and has not run (its saved activations are
        the graph's static buffers, which another replay would overwrite)."""
        if self._pending is None:
            return False
        node, ran = self._pending
        if ran or node() is None:
            self._pending = None
            return False
        return True

    def _capture(self, key: tuple, x: torch.Tensor) -> Optional[Callable]:
        hooked = [n or '(top)' for n, m in self.module.named_modules()
                  if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                  or m._backward_pre_hooks]
        if hooked:
            self.disabled = 'module hooks'
            self._log('hooks', f'{self.name} modules {hooked[:5]} have forward/backward hooks, '
                      'which a CUDA graph would run once at capture and never again: not '
                      'capturing, the backbone runs eagerly.', 'warning')
            return None
        amp = key[3]
        # make_graphed_callables refuses autocast's weight cache: capture without it
        ctx = (torch.autocast('cuda', dtype=amp, cache_enabled=False) if amp is not None
               else contextlib.nullcontext())
        sample = x.detach().clone().requires_grad_(x.requires_grad)  # the graph's input buffer
        module = self.module
        module.forward = self.eager_forward
        try:
            with ctx:
                # allow_unused_input: a trainable parameter the forward does not reach (an
                # output norm outside out_indices) gets no gradient, as in eager mode
                torch.cuda.make_graphed_callables(module, (sample, ),
                                                  num_warmup_iters=self.num_warmup_iters,
                                                  allow_unused_input=True)
            graphed = module.forward  # what make_graphed_callables installed
        except RuntimeError as error:  # e.g. a host sync inside the forward
            self.disabled = f'capture failed: {str(error).splitlines()[0]}'
            self._log('failed', f'capturing the {self.name} for input {_shape(key)} failed '
                      f'({type(error).__name__}: {str(error).splitlines()[0]}); it runs '
                      'eagerly from now on.', 'warning')
            return None
        finally:
            module.forward = self
        self.graphs[key] = graphed
        self.captures += 1
        self._log(('captured', key), f'captured the {self.name} training forward and backward '
                  f'as CUDA graphs for input {_shape(key)} {key[1]}'
                  f'{f", autocast {amp}" if amp is not None else ""} '
                  f'({len(self.graphs)} of max_shapes={self.max_shapes}); later calls with it '
                  'replay them.')
        return graphed

    # ------------------------------------------------------------------ undo
    def remove(self) -> None:
        """Put the backbone's eager forward back and drop the graphs (and their memory)."""
        if self.module.__dict__.get('forward') is self:
            if self._had_own_forward:
                self.module.forward = self.eager_forward
            else:
                del self.module.forward
        self.graphs.clear()

    def __repr__(self) -> str:
        return (f'CapturedForward({self.name}, shapes={[_shape(k) for k in self.graphs]}, '
                f'replays={self.replays}, eager_calls={self.eager_calls})')


def capture_backbone(backbone: nn.Module, max_shapes: int = 1, num_warmup_iters: int = 3,
                     logger: Optional[MMLogger] = None) -> CapturedForward:
    """Make ``backbone`` capture its training forward and backward as CUDA graphs per input shape.

    Installs a :class:`CapturedForward` as ``backbone.forward`` (an instance attribute; the
    module, its children and its state-dict keys stay as they are) and returns it; its
    ``remove()`` undoes this. See the module docstring for when calls replay and when they run
    eagerly. Calling it on a backbone that is already captured returns the installed dispatcher.

    Args:
        backbone: A module whose forward takes one tensor and returns tensors (a tensor, or a
            list/tuple of them): ``SwinMona``, ``ViTMona``.
        max_shapes: How many input keys (shape, dtype, autocast dtype) to capture at most; each
            keeps its own activation memory. Further shapes run eagerly.
        num_warmup_iters: Forward + backward passes ``make_graphed_callables`` runs on a side
            stream before capture (PyTorch's default 3; DDP-wrapped callables need 11, but here
            the backbone inside DDP is captured, not DDP).
        logger: Where the log lines go (default: the current MMLogger).
    """
    current = backbone.__dict__.get('forward')
    if isinstance(current, CapturedForward):
        return current
    dispatcher = CapturedForward(backbone, max_shapes, num_warmup_iters, logger)
    backbone.forward = dispatcher
    return dispatcher


def model_backbone(model: nn.Module) -> nn.Module:
    """The backbone of a (possibly DDP- or otherwise ``.module``-wrapped) detector or segmentor.

    Raises:
        AttributeError: the model has no ``backbone``.
    """
    while not hasattr(model, 'backbone') and isinstance(getattr(model, 'module', None),
                                                          nn.Module):
        model = model.module
    backbone = getattr(model, 'backbone', None)
    if not isinstance(backbone, nn.Module):
        raise AttributeError(f'CudaGraphHook: {type(model).__name__} has no backbone module to '
                             'capture (it captures model.backbone).')
    return backbone


@HOOKS.register_module()
class CudaGraphHook(Hook):
    """Capture the backbone's training forward and backward as CUDA graphs for fixed input
    shapes; other shapes, eval and CPU run eagerly (see the module docstring).

    Args:
        max_shapes (int): Input shapes (with dtype and autocast state) captured at most; each
            keeps its own graph memory. Default: 1.
        num_warmup_iters (int): Warm-up passes before each capture. Default: 3.
        enabled (bool): False leaves the model as it is. Default: True.
    """

    priority = 'NORMAL'

    def __init__(self, max_shapes: int = 1, num_warmup_iters: int = 3,
                 enabled: bool = True) -> None:
        if max_shapes < 1:
            raise ValueError(f'CudaGraphHook: max_shapes must be at least 1, got {max_shapes}.')
        self.max_shapes = max_shapes
        self.num_warmup_iters = num_warmup_iters
        self.enabled = enabled
        self.captured: Optional[CapturedForward] = None

    def before_train(self, runner) -> None:
        if not self.enabled:
            runner.logger.info('CudaGraphHook: disabled (enabled=False); the backbone runs '
                               'eagerly.')
            return
        if not torch.cuda.is_available():
            runner.logger.info('CudaGraphHook: CUDA is not available here, so CUDA-graph capture '
                               'is off: the backbone runs eagerly.')
            return
        backbone = model_backbone(runner.model)
        self.captured = capture_backbone(backbone, self.max_shapes, self.num_warmup_iters,
                                         runner.logger)
        runner.logger.info(f'CudaGraphHook: the {type(backbone).__name__} is captured as CUDA '
                           f'graphs at its first training call per input shape (max_shapes='
                           f'{self.max_shapes}); other shapes, eval and no-grad calls run '
                           'eagerly.')

    def after_train(self, runner) -> None:
        if self.captured is not None:
            runner.logger.info(f'CudaGraphHook: {self.captured.replays} replays, '
                               f'{self.captured.eager_calls} eager training calls.')
            self.captured.remove()
            self.captured = None


__all__: List[str] = ['CudaGraphHook', 'CapturedForward', 'capture_backbone', 'model_backbone']
