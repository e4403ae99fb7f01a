"""What a training step of the Swin-T (and ViT-S) backbone dispatches and keeps for backward, per
tuning method, counted by benchmarks/op_count.py (deterministic: asserted here, issue 20; the
measured times are in docs/benchmarks.md, not here).

Counts at 224x224, batch 1 (as docs/benchmarks.md at batch 2: the ops do not depend on the batch,
the saved bytes scale with it).
"""
import pytest
import torch

from benchmarks import tuning_cost
from benchmarks.op_count import SavedBytes
from mona_mm.models import SwinMona


@pytest.fixture(scope='module')
def counts():
    out = {}
    for name in ('Full', 'Mona', 'Mona+autograd'):
        tuning, variant = tuning_cost.parse_method(name)
        torch.manual_seed(0)
        model = tuning_cost.build_task_model('backbone', tuning, variant)
        step = tuning_cost.TrainStep(model, *tuning_cost.make_batch('backbone', model, 224, 1))
        step()  # the optimizer's state, as in every later step
        out[name] = step.count()
    return out


@pytest.fixture(scope='module')
def vit_counts():
    out = {}
    for name in ('Full', 'LoRA', 'Mona', 'Mona+autograd'):
        tuning, variant = tuning_cost.parse_method(name)
        torch.manual_seed(0)
        model = tuning_cost.build_task_model('vit-backbone', tuning, variant, 224)
        step = tuning_cost.TrainStep(model, *tuning_cost.make_batch('vit-backbone', model, 224, 1))
        step()
        out[name] = step.count()
    return out


def test_vit_s_mona_step(vit_counts):
    """ViT-S (12 blocks, 24 Mona layers): a plain block dispatches few ops (about 14 forward), so
    Mona's per-layer cost weighs more than on Swin-T: 1,297 ops against Full's 491 (2.64x;
    4.5x before the fused step), LoRA 1.47x; it keeps 0.64x of Full's bytes for backward."""
    full, mona, lora = vit_counts['Full'], vit_counts['Mona'], vit_counts['LoRA']
    assert mona.total_ops <= 2.7 * full.total_ops, (mona.total_ops, full.total_ops)
    assert lora.total_ops <= 1.5 * full.total_ops, (lora.total_ops, full.total_ops)
    assert vit_counts['Mona+autograd'].total_ops - mona.total_ops >= 200
    assert sum(mona.syncs.values()) == 0 and mona.by_op['native_dropout'] == 24
    assert mona.saved <= 0.70 * full.saved


def test_mona_step_dispatches_fewer_ops_than_per_layer_autograd(counts):
    full, mona, autograd = counts['Full'], counts['Mona'], counts['Mona+autograd']
    # 24 Mona layers of 9 ops forward and 25 back, and one batched build of their kernels
    # (13 forward, 13 back) over the frozen backbone's own step: docs/benchmarks.md's floor
    assert mona.total_ops <= 1.72 * full.total_ops, (mona.total_ops, full.total_ops)
    assert autograd.total_ops - mona.total_ops >= 200
    assert sum(mona.syncs.values()) == 0 and mona.by_op['native_dropout'] == 24


def test_mona_keeps_less_for_backward_than_full(counts):
    assert counts['Mona'].saved <= 0.70 * counts['Full'].saved
    assert counts['Mona'].saved <= 0.75 * counts['Mona+autograd'].saved


#: Swin-L's first stage (C 192, 6 heads, window 7), the later stages cut to one block
SWIN_L_STAGE_1 = dict(embed_dims=192, depths=(2, 1, 1, 1), num_heads=(6, 12, 24, 48),
                      drop_path_rate=0.2)


def block_saved(tuning: str, next_norm: bool) -> int:
    """Bytes one block of Swin-L's first stage keeps for backward (batch 1, 56x56 tokens), its
    input requiring grad; with ``next_norm``, also the next block's first LayerNorm, which in a
    backbone keeps the block's output in every method."""
    torch.manual_seed(0)
    model = SwinMona(tuning=tuning, **SWIN_L_STAGE_1).train()
    model.prepare_adapters()
    block, following = model.stages[0].blocks
    x = torch.randn(1, 56 * 56, 192, requires_grad=True)
    with SavedBytes(set(model.parameters()) | set(model.buffers())) as saved:
        y = block(x, (56, 56))
        if next_norm:
            following.norm1(y)
    return saved.total


def test_a_mona_block_keeps_little_more_than_a_frozen_block():
    frozen, mona = block_saved('Fixed', True), block_saved('Mona', True)
    assert mona <= 1.15 * frozen, mona / frozen
    # alone, its output (which MonaStep keeps) is charged to it: one (B, N, C) tensor more
    assert block_saved('Mona', False) - block_saved('Fixed', False) == (
        mona - frozen) + 56 * 56 * 192 * 4
