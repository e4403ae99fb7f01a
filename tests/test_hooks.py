"""DeltaTuningHook and the parameter table."""
import pytest
import torch
import torch.nn as nn

from mona_mm.hooks import DeltaTuningHook, frozen_fingerprints, verify_trainable
from mona_mm.models import SwinMona
from mona_mm.utils import count_by_part, format_param_table


class Detector(nn.Module):
    def __init__(self, cfg, tuning='Mona'):
        super().__init__()
        self.backbone = SwinMona(tuning=tuning, **cfg)
        self.neck = nn.Linear(4, 4)
        self.rpn_head = nn.Linear(4, 2)


class FakeRunner:
    def __init__(self, model):
        import logging
        self.model = model
        self.logger = logging.getLogger('fake')
        self.optim_wrapper = None


def test_param_table_by_part(tiny_swin_cfg):
    model = Detector(tiny_swin_cfg)
    counts = {c.part: c for c in count_by_part(model)}
    adapters = sum(p.numel() for n, p in model.backbone.named_parameters()
                   if n in model.backbone.adapter_param_names)
    assert counts['backbone adapters'].trainable == counts['backbone adapters'].total == adapters
    assert counts['backbone frozen'].trainable == 0
    assert counts['backbone frozen'].total == sum(
        p.numel() for p in model.backbone.parameters()) - adapters
    assert counts['neck'].total == counts['neck'].trainable == 20
    assert counts['heads'].total == 10
    table = format_param_table(count_by_part(model))
    assert 'backbone adapters' in table and f'{adapters:,}' in table


def test_hook_accepts_intended_and_rejects_tampering(tiny_swin_cfg):
    model = Detector(tiny_swin_cfg)
    hook = DeltaTuningHook()
    hook.before_train(FakeRunner(model))
    model.backbone.stages[0].blocks[0].norm1.weight.requires_grad = True
    with pytest.raises(RuntimeError, match='stages.0.blocks.0.norm1.weight is trainable'):
        DeltaTuningHook().before_train(FakeRunner(model))
    model.backbone.train()  # re-asserts freezing
    model.neck.weight.requires_grad = False
    with pytest.raises(RuntimeError, match='neck.weight .outside the backbone. is frozen'):
        DeltaTuningHook().before_train(FakeRunner(model))


def test_hook_detects_changed_frozen_weights(tiny_swin_cfg):
    model = Detector(tiny_swin_cfg)
    hook = DeltaTuningHook()
    runner = FakeRunner(model)
    hook.before_train(runner)
    hook.after_train(runner)  # unchanged: passes
    with torch.no_grad():
        model.backbone.stages[1].blocks[1].attn.w_msa.qkv.weight[0, 0] += 1e-6
    with pytest.raises(RuntimeError, match='stages.1.blocks.1.attn.w_msa.qkv.weight'):
        hook.after_train(runner)


def test_hook_requires_a_tuned_backbone():
    with pytest.raises(RuntimeError, match='no tuned backbone'):
        DeltaTuningHook().before_train(FakeRunner(nn.Linear(2, 2)))


def test_verify_and_fingerprints_helpers(tiny_swin_cfg):
    model = Detector(tiny_swin_cfg, tuning='Full')
    assert verify_trainable(model) == []
    assert frozen_fingerprints(model) == {}


@pytest.mark.parametrize('tuning,message', [
    ('Mona', 'frozen backbone tensors are unchanged after training'),
    ('Full', 'no backbone tensor is frozen (full fine-tuning), so none is checked'),
])
def test_hook_message_after_training_is_true_for_the_method(tiny_swin_cfg, tuning, message):
    from tests.helpers import recording_logger
    model = Detector(tiny_swin_cfg, tuning=tuning)
    runner = FakeRunner(model)
    runner.logger, records = recording_logger(f'after_train_{tuning}')
    hook = DeltaTuningHook()
    hook.before_train(runner)
    hook.after_train(runner)
    assert any(message in line for line in records.lines)
    assert not any('all 0 frozen' in line for line in records.lines)


def test_shell_launchers_print_a_usage_line():
    import os.path as osp
    import subprocess

    from tests.helpers import ROOT
    for tool, args in (('dist_train.sh', ['a.py']), ('dist_test.sh', ['a.py', 'b.pth'])):
        result = subprocess.run(['bash', osp.join(ROOT, 'tools', tool)] + args,
                                capture_output=True, text=True)
        assert result.returncode == 2
        assert result.stderr.startswith(f'usage: bash tools/{tool} CONFIG')
        assert 'Traceback' not in result.stderr
