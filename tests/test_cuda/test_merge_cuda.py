"""Merged (deployment) vs unmerged SwinMona on CUDA, and CUDA vs CPU outputs.

``merge_adapters`` folds Mona, LoRA and LoRand into plain layers; a ``deploy=True`` backbone
loads the merged state dict. On CUDA the merged model must give the unmerged outputs in fp32,
must not be less accurate than the unmerged one in fp16/bf16 autocast, and both must match the
CPU computation.
"""
import copy

import pytest
import torch

from mona_mm.models import SwinMona
from tests.conftest import TINY_SWIN
from tests.test_cuda.common import REQUIRES_CUDA

pytestmark = REQUIRES_CUDA

#: tuning -> number of merged modules in TINY_SWIN (8 blocks; Mona 2 per block, LoRA 1, LoRand 4)
MERGEABLE = [('Mona', 16), ('LoRA', 8), ('LoRand', 32), (['Mona', 'LoRA'], 24)]


def merge_adapters(model) -> list:
    """``mona_mm.models.merge_adapters`` (imported here: the tests collect on any checkout)."""
    from mona_mm.models import merge_adapters as merge
    return merge(model)


def perturbed(tuning) -> SwinMona:
    """An eval-mode backbone whose every tensor is non-trivial (LoRA's B starts at zero)."""
    torch.manual_seed(0)
    model = SwinMona(tuning=tuning, **TINY_SWIN).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def inputs() -> torch.Tensor:
    return torch.randn(2, 3, 64, 56, generator=torch.Generator().manual_seed(1))


@torch.no_grad()
def forward(model, x, dtype=None):
    if dtype is None:
        return [o.float() for o in model(x)]
    with torch.autocast('cuda', dtype=dtype):
        return [o.float() for o in model(x)]


@pytest.mark.parametrize('tuning,count', MERGEABLE, ids=str)
def test_merged_matches_unmerged_on_cuda(tuning, count, exact_fp32):
    model = perturbed(tuning)
    cpu_out = forward(model, inputs())
    model.cuda()
    x = inputs().cuda()
    before = forward(model, x)
    for gpu, cpu in zip(before, cpu_out):  # the CUDA kernels compute what the CPU ones do
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=0, atol=1e-4)
    assert len(merge_adapters(model)) == count
    after = forward(model, x)
    for a, b in zip(before, after):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-5)
    deploy = SwinMona(tuning=tuning, deploy=True, **TINY_SWIN).cuda().eval()
    deploy.load_state_dict(model.state_dict(), strict=True)
    for a, b in zip(forward(deploy, x), after):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16], ids=['fp16', 'bf16'])
@pytest.mark.parametrize('tuning,count', MERGEABLE, ids=str)
def test_merged_is_as_accurate_under_autocast(tuning, count, dtype, exact_fp32):
    """Folding changes the rounding, not the precision: against the fp32 result, the merged
    model's autocast error is at most twice the unmerged one's (plus a rounding unit)."""
    if dtype is torch.bfloat16 and not torch.cuda.is_bf16_supported():
        pytest.skip('this GPU has no bf16 support')
    model = perturbed(tuning).cuda()
    x = inputs().cuda()
    reference = forward(model, x)
    unmerged = forward(model, x, dtype)
    merged_model = copy.deepcopy(model)
    assert len(merge_adapters(merged_model)) == count
    merged = forward(merged_model, x, dtype)
    unit = torch.finfo(dtype).eps
    for ref, u, m in zip(reference, unmerged, merged):
        assert torch.isfinite(m).all()
        err_u = (u - ref).abs().max().item()
        err_m = (m - ref).abs().max().item()
        assert err_m <= 2 * err_u + unit * ref.abs().max().item(), (err_m, err_u)
