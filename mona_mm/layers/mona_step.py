"""Mona's training step as one autograd function, and its kernels built for many layers at once.

On a GPU at the sizes people train, the host dispatching kernels one by one is what the device
waits on (docs/benchmarks.md), so this file is about ops dispatched and bytes kept for backward,
with the numbers of the official formula (docs/spec.md section 1; tested to 1e-5 in values and
every gradient, dropout on):

* :class:`MonaStep`: the whole layer, forward in 9 ops (LayerNorm, addcmul, project1, the merged
  depthwise 7x7, the 1x1 with its identity, GELU, dropout, project2, the skip; plus one concat
  where a ViT has tokens off the map), backward in 25 (8 of them recomputing the inside). It keeps
  for backward only its output (which the next LayerNorm keeps anyway), GELU's input and
  dropout's mask; the input is recovered in backward as ``output - project2(...)``.
* :func:`prepare_kernels`: the per-step kernels of a group of layers (LayerNorm affine with
  ``gamma`` folded in, the merged 7x7 with its identity, the averaged bias, the 1x1 plus identity)
  in 13 ops for the whole group, forward, instead of 8 per layer; the backbone calls it once per
  forward (``DeltaTunedBackbone.prepare_adapters``), a layer called alone builds its own.
"""
import weakref
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F

aten = torch.ops.aten

#: the kernels of one layer: LayerNorm weight and bias (times gamma), depthwise 7x7 (k, 1, 7, 7)
#: with the skip's identity, its bias (k,), and the 1x1 conv as a (k, k) matrix plus identity,
#: with its bias
Kernels = Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                torch.Tensor]

_CONSTANTS: Dict[tuple, Tuple[torch.Tensor, ...]] = {}
#: layer -> (what its kernels were built from, whether with autograd, the kernels)
_PREPARED: 'weakref.WeakKeyDictionary' = weakref.WeakKeyDictionary()


def _constants(k: int, device: torch.device, dtype: torch.dtype) -> Tuple[torch.Tensor, ...]:
    """``(E3, E5, delta, eye)``: the 3x3 and 5x5 kernels' embeddings into the 7x7 (centred,
    divided by 3), the identity's 7x7 (a one at the centre) and the (k, k) identity."""
    key = (k, device, dtype)
    if key not in _CONSTANTS:
        with torch.no_grad():
            embed = []
            for size in (3, 5):
                e = torch.zeros(size * size, 7, 7, dtype=torch.float64)
                pad = (7 - size) // 2
                e[:, pad:pad + size, pad:pad + size] = torch.eye(size * size).view(
                    -1, size, size)
                embed.append((e.view(size * size, 49) / 3).to(device, dtype))
            delta = torch.zeros(49, device=device, dtype=dtype)
            delta[24] = 1.0
            _CONSTANTS[key] = (*embed, delta, torch.eye(k, device=device, dtype=dtype))
    return _CONSTANTS[key]


def _flat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The tensors flattened end to end (no copy for one tensor)."""
    return tensors[0].reshape(-1) if len(tensors) == 1 else torch.cat(
        [t.reshape(-1) for t in tensors])


def _sources(layer) -> List[torch.Tensor]:
    """The parameters a layer's kernels are built from."""
    op = layer.adapter_conv
    return [layer.norm.weight, layer.norm.bias, layer.gamma, op.conv1.weight, op.conv2.weight,
            op.conv3.weight, op.conv1.bias, op.conv2.bias, op.conv3.bias, op.projector.weight]


def _key(layer) -> tuple:
    return tuple((id(p), p.data_ptr(), p._version) for p in _sources(layer))


def merged_convs(ops: Sequence) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The single-conv form of MonaOps ``ops`` of one width k, batched (docs/spec.md section 1):
    depthwise 7x7 weights (n, k, 1, 7, 7) with the skip's identity, their biases (n, k) and the
    1x1 convs as (n, k, k) matrices plus identity; differentiable in the parameters."""
    ref = ops[0].conv3.weight
    n, k = len(ops), ref.shape[0]
    e3, e5, delta, eye = _constants(k, ref.device, ref.dtype)
    w3 = _flat([op.conv1.weight for op in ops]).view(-1, 9)
    w5 = _flat([op.conv2.weight for op in ops]).view(-1, 25)
    w7 = _flat([op.conv3.weight for op in ops]).view(-1, 49)
    # (w3 and w5 padded to 7x7 + w7) / 3 + identity, for the k channels of every op at once
    dw = torch.addmm(torch.addmm(torch.add(delta, w7, alpha=1 / 3), w3, e3), w5, e5)
    dwb = _flat([b for op in ops for b in (op.conv1.bias, op.conv2.bias, op.conv3.bias)]
                ).view(n, 3, k).mean(1)
    pw = _flat([op.projector.weight for op in ops]).view(n, k, k) + eye
    return dw.view(n, k, 1, 7, 7), dwb, pw


def build_kernels(layers: Sequence) -> List[Kernels]:
    """The kernels of MonaLayers ``layers`` whose convs share one width, built in one batched
    pass: concatenations of their parameters, then one op per formula."""
    dw, dwb, pw = merged_convs([layer.adapter_conv for layer in layers])
    # LayerNorm(x) * gamma == layer_norm with gamma folded into its affine
    widths = [layer.norm.weight.shape[0] for layer in layers]
    affine = _flat([layer.norm.weight for layer in layers] + [layer.norm.bias for layer in layers])
    folded = affine.view(2, -1) * _flat([layer.gamma for layer in layers])
    biases = [layer.adapter_conv.projector.bias for layer in layers]
    if len(layers) == 1:  # views, whose backward is free
        ln_w, ln_b = folded.unbind(0)
        return [(ln_w, ln_b, dw.squeeze(0), dwb.squeeze(0), pw.squeeze(0), biases[0])]
    # hand out each layer's part by unbind and split: one backward node for all layers
    ln_w, ln_b = (row.split(widths) for row in folded.unbind(0))
    return list(zip(ln_w, ln_b, dw.unbind(0), dwb.unbind(0), pw.unbind(0), biases))


def prepare_kernels(layers: Sequence) -> None:
    """Build the kernels of ``layers`` for their next call, batched per bottleneck width, device
    and dtype (:func:`kernels` hands each layer its own, once)."""
    groups: Dict[tuple, list] = {}
    for layer in layers:
        w = layer.adapter_conv.conv3.weight
        groups.setdefault((w.shape[0], w.device, w.dtype), []).append(layer)
    grad = torch.is_grad_enabled()
    for group in groups.values():
        for layer, built in zip(group, build_kernels(group)):
            _PREPARED[layer] = (_key(layer), grad, built)


def kernels(layer) -> Kernels:
    """The layer's kernels for this call: those :func:`prepare_kernels` built, if this is the
    first call since, its parameters have not changed and autograd is not needed where they
    were built without it; else its own. Once only: a second forward (or a checkpointed block's
    recomputation in backward) must not reach through a graph that backward may have freed."""
    if not torch.compiler.is_compiling():
        prepared = _PREPARED.pop(layer, None)
        if prepared is not None:
            key, grad, built = prepared
            if (grad or not torch.is_grad_enabled()) and key == _key(layer):
                return built
    return build_kernels([layer])[0]


class MonaStep(torch.autograd.Function):
    """``x + project2(dropout(gelu(conv(project1(LN'(x) + x * gammax)))))``, Mona's layer with
    its convolutions merged (docs/spec.md section 1), forward and hand-written backward.

    ``forward(x, ln_w, ln_b, gammax, w1, b1, dw, dwb, pw, pwb, w2, b2, hw, extra, p, eps)``:
    ``x`` (B, N, C) tokens, ``extra`` of them off the ``hw`` map in front; ``ln_w``/``ln_b`` the
    LayerNorm affine times gamma; ``dw``/``dwb`` the merged depthwise 7x7; ``pw``/``pwb`` the 1x1
    as a (k, k) matrix plus identity; ``p`` the dropout rate in training (0 in eval).

    Under CUDA autocast the ops run in the dtypes they would run in module by module (LayerNorm
    and the skip in float32, products and the conv in float16); backward replays the same state.
    """

    @staticmethod
    @torch.amp.custom_fwd(device_type='cuda')
    def forward(ctx, x, ln_w, ln_b, gammax, w1, b1, dw, dwb, pw, pwb, w2, b2, hw: Tuple[int, int],
                extra: int, p: float, eps: float) -> torch.Tensor:
        b, n, c = x.shape
        k = w1.shape[0]
        x1 = torch.addcmul(F.layer_norm(x, (c, ), ln_w, ln_b, eps), x, gammax)
        h = torch.addmm(b1, x1.view(-1, c), w1.t()).view(b, n, k)
        hmap = h[:, extra:].view(b, hw[0], hw[1], k).permute(0, 3, 1, 2)  # channels-last view
        cmap = F.conv2d(hmap, dw, dwb, padding=3, groups=k)
        r = torch.addmm(pwb, cmap.permute(0, 2, 3, 1).reshape(-1, k), pw.t()).view(b, -1, k)
        if extra:
            r = torch.cat([h[:, :extra], r], dim=1)
        g = F.gelu(r)
        mask = None
        if p > 0:
            g, mask = torch.native_dropout(g, p, True)
        y = x + torch.addmm(b2, g.view(-1, k), w2.t()).view(b, n, c)
        ctx.save_for_backward(y, r, mask, ln_w, ln_b, gammax, w1, b1, dw, dwb, pw, pwb, w2, b2)
        ctx.hw, ctx.extra, ctx.p, ctx.eps = hw, extra, p, eps
        ctx.dtypes = (x1.dtype, cmap.dtype)
        return y

    @staticmethod
    @torch.amp.custom_bwd(device_type='cuda')
    def backward(ctx, gy: torch.Tensor):
        y, r, mask, ln_w, ln_b, gammax, w1, b1, dw, dwb, pw, pwb, w2, b2 = ctx.saved_tensors
        (h_, w_), extra, p, eps = ctx.hw, ctx.extra, ctx.p, ctx.eps
        ln_dtype, conv_dtype = ctx.dtypes
        b, n, c = y.shape
        k = w1.shape[0]
        scale = 1.0 / (1.0 - p) if p > 0 else 1.0
        # recompute the inside from GELU's input and the output (8 ops); every temporary is
        # dropped as soon as its last use is behind (``del``), which keeps the peak of a
        # checkpointed block's backward low
        g = F.gelu(r)
        d = aten.native_dropout_backward(g, mask, scale) if mask is not None else g
        del g
        d2 = d.reshape(-1, k)
        x = y - torch.addmm(b2, d2, w2.t()).view(b, n, c)
        # the gradients (17 ops, one more for tokens off the map)
        gy2 = gy.reshape(-1, c)
        g_b2, g_w2 = gy2.sum(0), gy2.t().mm(d2)
        del d, d2
        xl = x.to(ln_dtype)
        xn, mean, rstd = aten.native_layer_norm(xl, (c, ), ln_w.to(ln_dtype), ln_b.to(ln_dtype),
                                                eps)
        x1 = torch.addcmul(xn, x, gammax)
        del xn
        h = torch.addmm(b1, x1.view(-1, c), w1.t()).view(b, n, k)
        hmap = h[:, extra:].view(b, h_, w_, k).permute(0, 3, 1, 2)
        del h
        dw_c = dw.to(conv_dtype)
        cmap = F.conv2d(hmap, dw_c, dwb, padding=3, groups=k)
        g_d = gy2.mm(w2).view(r.shape).to(r.dtype)
        g_g = aten.native_dropout_backward(g_d, mask, scale) if mask is not None else g_d
        del g_d
        g_r = aten.gelu_backward(g_g, r)
        del g_g
        g_q = g_r[:, extra:].reshape(-1, k)
        g_pwb, g_pw = g_q.sum(0), g_q.t().mm(cmap.permute(0, 2, 3, 1).reshape(-1, k))
        del cmap
        g_c = g_q.mm(pw).view(b, h_, w_, k).permute(0, 3, 1, 2).to(conv_dtype)
        del g_q
        g_hmap, g_dw, g_dwb = aten.convolution_backward(
            g_c, hmap, dw_c, [k], [1, 1], [3, 3], [1, 1], False, [0, 0], k, [True, True, True])
        del g_c, hmap
        g_h = g_hmap.permute(0, 2, 3, 1).reshape(b, -1, k)
        del g_hmap
        if extra:
            g_h = torch.cat([g_r[:, :extra], g_h], dim=1)
        del g_r
        g_h2 = g_h.reshape(-1, k)
        del g_h
        g_b1, g_w1 = g_h2.sum(0), g_h2.t().mm(x1.view(-1, c))
        del x1
        g_x1 = g_h2.mm(w1).view(b, n, c).to(ln_dtype)
        del g_h2
        g_gammax = (g_x1 * x).sum((0, 1))
        del x
        need_x = ctx.needs_input_grad[0]
        g_xln, g_lnw, g_lnb = aten.native_layer_norm_backward(
            g_x1, xl, (c, ), mean, rstd, ln_w.to(ln_dtype), ln_b.to(ln_dtype),
            [need_x, True, True])
        del xl
        g_x = torch.addcmul(gy, g_x1, gammax) + g_xln if need_x else None
        return (g_x, g_lnw, g_lnb, g_gammax, g_w1, g_b1, g_dw, g_dwb, g_pw, g_pwb, g_w2, g_b2,
                None, None, None, None)


def mona_step(layer, x: torch.Tensor, hw: Tuple[int, int], extra: int,
              built: Kernels) -> torch.Tensor:
    """Run MonaLayer ``layer`` on ``x`` with :class:`MonaStep` and the kernels ``built``."""
    ln_w, ln_b, dw, dwb, pw, pwb = built
    p = layer.dropout.p if layer.training else 0.0
    return MonaStep.apply(x, ln_w, ln_b, layer.gammax, layer.project1.weight, layer.project1.bias,
                          dw, dwb, pw, pwb, layer.project2.weight, layer.project2.bias, hw, extra,
                          p, layer.norm.eps)
