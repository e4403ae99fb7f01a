"""Mixed-precision training steps of SwinMona on CUDA, for every registered tuning method.

The step is mmengine's ``AmpOptimWrapper`` (what ``tools/train.py --amp`` builds): autocast in
fp16 or bf16, a dynamic loss scale, fp32 master weights. For each method the loss stays finite,
the frozen weights stay bit-identical, and exactly the intended parameters move.
"""
import pytest
import torch
from mmengine.optim import AmpOptimWrapper

from mona_mm.models import SwinMona
from mona_mm.tuning import available_methods
from tests.conftest import TINY_SWIN
from tests.test_cuda.common import HAS_CUDA, REQUIRES_CUDA

pytestmark = REQUIRES_CUDA

NO_BF16 = HAS_CUDA and not torch.cuda.is_bf16_supported()
DTYPES = [
    pytest.param('float16', id='fp16'),
    pytest.param('bfloat16', id='bf16',
                 marks=pytest.mark.skipif(NO_BF16, reason='this GPU has no bf16 support')),
]
#: optimizer steps that must be applied (steps the loss scaler skips on overflow do not count)
APPLIED_STEPS = 3
MAX_ITERS = 12


def build(tuning, **kw) -> SwinMona:
    torch.manual_seed(0)
    return SwinMona(tuning=tuning, **dict(TINY_SWIN, **kw)).cuda().train()


def batch() -> torch.Tensor:
    """(2, 3, 56, 44): not multiples of the window, so the padding path runs too."""
    g = torch.Generator(device='cuda').manual_seed(1)
    return torch.randn(2, 3, 56, 44, device='cuda', generator=g)


def qkv_output_dtype(model: SwinMona, run) -> torch.dtype:
    """The dtype of the first attention's qkv projection while ``run()`` executes."""
    seen = []
    handle = model.stages[0].blocks[0].attn.w_msa.qkv.register_forward_hook(
        lambda mod, args, out: seen.append(out.dtype))
    try:
        run()
    finally:
        handle.remove()
    return seen[0]


def amp_train(model: SwinMona, dtype: str):
    """AdamW steps through ``AmpOptimWrapper`` until APPLIED_STEPS were applied.

    Returns:
        tuple: (losses of every iteration, number of applied steps, dtype of the qkv output).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.AdamW(params, lr=1e-2, weight_decay=0.05),
        loss_scale='dynamic', dtype=dtype)
    x = batch()
    losses, applied, compute_dtype = [], 0, None
    for _ in range(MAX_ITERS):
        scale = wrapper.loss_scaler.get_scale()
        with wrapper.optim_context(model):
            step_dtype = qkv_output_dtype(
                model, lambda: losses.append(sum(o.float().square().mean() for o in model(x))))
        compute_dtype = compute_dtype or step_dtype
        wrapper.update_params(losses[-1])
        # GradScaler halves the scale exactly when it skipped the step (inf/nan gradients)
        applied += wrapper.loss_scaler.get_scale() >= scale
        if applied == APPLIED_STEPS:
            break
    return [float(v) for v in losses], applied, compute_dtype


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('name', sorted(set(available_methods()) - {'Fixed'}))
def test_amp_step_moves_exactly_the_trainable_parameters(name, dtype):
    model = build(name)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    losses, applied, compute_dtype = amp_train(model, dtype)
    assert compute_dtype == getattr(torch, dtype), 'autocast did not run the matmuls in ' + dtype
    assert applied == APPLIED_STEPS, f'the loss scaler skipped {len(losses) - applied} of ' \
        f'{len(losses)} steps (gradients overflowed every time)'
    assert all(torch.isfinite(torch.tensor(losses))), losses
    assert all(p.dtype == torch.float32 for p in model.parameters())  # fp32 master weights
    intended = model.trainable_param_names
    assert intended, f'{name} trains nothing'
    for n, p in model.named_parameters():
        if n in intended:
            assert not torch.equal(p, before[n]), f'{name}: trainable {n} did not move'
        else:
            assert torch.equal(p, before[n]), f'{name}: frozen {n} changed'
            assert p.grad is None, f'{name}: frozen {n} received a gradient'


@pytest.mark.parametrize('dtype', DTYPES)
def test_amp_forward_of_fixed_is_finite_and_trains_nothing(dtype):
    """Fixed (linear probing of the heads) has no backbone parameter to step."""
    model = build('Fixed')
    assert not any(p.requires_grad for p in model.parameters())
    with torch.autocast('cuda', dtype=getattr(torch, dtype)):
        outs = model(batch())
    assert all(torch.isfinite(o).all() and not o.requires_grad for o in outs)


@pytest.mark.parametrize('dtype', DTYPES)
def test_amp_step_with_activation_checkpointing(dtype):
    """``with_cp=True`` (the memory-saving option) re-runs the blocks under autocast in backward:
    the gradients must equal those of the plain run."""
    plain, cp = build('Mona'), build('Mona', with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = batch()
    grads = []
    for model in (plain, cp):
        torch.manual_seed(2)  # the same dropout masks in both runs (checkpointing replays them)
        with torch.autocast('cuda', dtype=getattr(torch, dtype)):
            loss = sum(o.float().square().mean() for o in model(x))
        loss.backward()
        grads.append({n: p.grad for n, p in model.named_parameters() if p.requires_grad})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for n, g in grads[0].items():
        assert torch.isfinite(g).all(), n
        torch.testing.assert_close(grads[1][n], g, rtol=1e-2, atol=1e-4, msg=n)
