"""Divergence: the run stops at the iteration whose loss or gradients are non-finite, says what to
try, exits non-zero (an exception out of tools/train.py), writes no checkpoint of the diverged
state and keeps the one before it under ``max_keep_ckpts=1``; under AMP the loss scaler's skipped
steps are not divergence (mona_mm.hooks.DivergenceHook)."""
import functools
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mona_mm.hooks import TrainingDiverged
from mona_mm.runner import run_train
from mona_mm.testing import make_synthetic_coco
from tests.helpers import ROOT
from tests.test_reliability.toy import toy_config

TINY_COCO = osp.join(ROOT, 'configs', 'tiny', 'mask-rcnn_swin-mona_tiny-coco.py')


def finite_checkpoint(path) -> bool:
    state = torch.load(path, map_location='cpu')['state_dict']
    return all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_tiny_coco_run_stops_at_the_diverging_iteration(tmp_path, monkeypatch):
    """The issue's case on the quick-start config: the learning rate jumps by 1e8 after epoch 1
    (a diverging schedule); the run stops in epoch 2 before saving it, and epoch_1.pth, the only
    one max_keep_ckpts=1 keeps, stays."""
    monkeypatch.chdir(tmp_path)
    make_synthetic_coco('data/tiny_coco', num_train=4, num_val=1)
    cfg = Config.fromfile(TINY_COCO)
    cfg.merge_from_dict({
        'work_dir': str(tmp_path / 'work'), 'launcher': 'none', 'randomness': dict(seed=0),
        'train_cfg.max_epochs': 2, 'train_cfg.val_interval': 5,
        'default_hooks.checkpoint.interval': 1, 'train_dataloader.batch_size': 2,
        'param_scheduler.1.milestones': [1],
        'param_scheduler.1.gamma': 1e8})
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 1
    with pytest.raises(TrainingDiverged) as info:
        run_train(cfg)
    message = str(info.value)
    assert 'Training diverged at iteration' in message and '(epoch 2)' in message
    assert 'non-finite loss terms loss=nan' in message and 'loss_cls=nan' in message
    assert 'lower learning rate' in message and 'loss scale' in message
    assert f'the newest checkpoint, {tmp_path / "work" / "epoch_1.pth"}, is sound' in message
    assert sorted(p for p in os.listdir(tmp_path / 'work') if p.endswith('.pth')) == [
        'epoch_1.pth']
    assert finite_checkpoint(tmp_path / 'work' / 'epoch_1.pth')


def test_non_finite_gradients_with_a_finite_loss_stop_the_run(tmp_path):
    # 4 iterations per epoch: the 6th forward (epoch 2) back-propagates NaN into the weights
    cfg = toy_config(tmp_path, model=dict(nan_grad_at=[6]))
    with pytest.raises(TrainingDiverged, match=r'iteration 6 \(epoch 2\): non-finite gradients'):
        run_train(cfg)
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith('.pth')) == ['epoch_1.pth']
    assert finite_checkpoint(tmp_path / 'epoch_1.pth')


def test_the_check_can_be_turned_off(tmp_path):
    """enabled=False (docs/reliability.md): the run goes on to the end, and its checkpoints hold
    the diverged weights, as mmengine alone does."""
    cfg = toy_config(tmp_path, model=dict(nonfinite_at=[6]))
    cfg.custom_hooks[1].enabled = False  # DivergenceHook
    run_train(cfg)
    assert not finite_checkpoint(tmp_path / 'epoch_3.pth')


def amp_runner(tmp_path, monkeypatch, optimizer=None, **hook):
    """A toy run under mmengine's AmpOptimWrapper with a real dynamic loss scaler, on the CPU
    (mmengine allows the wrapper only with a GPU; torch's GradScaler works on the CPU)."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)
    monkeypatch.setattr(amp, 'GradScaler', functools.partial(torch.amp.GradScaler, 'cpu'))
    cfg = toy_config(tmp_path, model=dict(nonfinite_at=[3, 4]), optim_wrapper=dict(
        type='AmpOptimWrapper', optimizer=optimizer or dict(type='SGD', lr=0.01),
        loss_scale='dynamic'))
    cfg.custom_hooks[1].update(hook)
    return Runner.from_cfg(cfg)


# SGD: the scaler does not call step() on a skipped step; fused AdamW: it calls step(), which
# skips inside, and only the fallen scale tells
@pytest.mark.parametrize('optimizer', [dict(type='SGD', lr=0.01),
                                       dict(type='AdamW', lr=0.01, fused=True)])
def test_amp_skipped_steps_are_not_divergence(tmp_path, monkeypatch, optimizer):
    """Two overflowing iterations: the scaler skips their steps and halves its scale twice; the
    run goes on to the end."""
    runner = amp_runner(tmp_path, monkeypatch, optimizer)
    runner.train()
    assert runner.optim_wrapper.loss_scaler.get_scale() == 2.0 ** 14  # 2 ** 16 halved twice
    assert finite_checkpoint(tmp_path / 'epoch_3.pth')


def test_amp_too_many_skipped_steps_are_divergence(tmp_path, monkeypatch):
    runner = amp_runner(tmp_path, monkeypatch, max_skipped_steps=1)
    with pytest.raises(TrainingDiverged, match='loss scaler skipped 2 steps in a row'):
        runner.train()


def test_the_message_is_in_the_log_file(tmp_path):
    cfg = toy_config(tmp_path, model=dict(nonfinite_at=[2]))
    with pytest.raises(TrainingDiverged):
        run_train(cfg)
    assert not any(p.endswith('.pth') for p in os.listdir(tmp_path))  # diverged in epoch 1
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'ERROR' in log and 'Training diverged at iteration 2 (epoch 1): non-finite loss ' \
        'terms loss=inf' in log


def test_the_newest_sound_checkpoint_is_named_and_a_new_lr_applies_on_resume(tmp_path):
    """The learning rate jumps 1000x after epoch 1: epoch 2 ends with finite but exploded weights
    (a checkpoint mmengine would offer as the newest), the loss turns non-finite in epoch 3. The
    message names epoch_1.pth, the newest sound one, and why epoch_2.pth is not; --resume from
    it with a lower learning rate applies that rate (mmengine kept the checkpoint's) and says
    so."""
    cfg = toy_config(tmp_path, max_epochs=4, model=dict(nonfinite_at=[9]),
                     checkpoint=dict(max_keep_ckpts=3),
                     param_scheduler=dict(type='MultiStepLR', milestones=[1], gamma=1000,
                                          by_epoch=True))
    with pytest.raises(TrainingDiverged) as info:
        run_train(cfg)
    message = str(info.value)
    assert f'the newest checkpoint, {tmp_path / "epoch_2.pth"}, was written when the run was ' \
           f'already diverging (' in message and 'x their largest at the start' in message
    assert f'the newest sound one is {tmp_path / "epoch_1.pth"} (resume from it)' in message
    assert finite_checkpoint(tmp_path / 'epoch_2.pth')  # finite, yet not sound

    resumed = toy_config(tmp_path / 'resumed', max_epochs=2, resume=True,
                         load_from=str(tmp_path / 'epoch_1.pth'),
                         optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.001)),
                         param_scheduler=cfg.param_scheduler)
    run_train(resumed)
    log = next((tmp_path / 'resumed').glob('*/*.log')).read_text()
    assert '--resume: optim_wrapper.optimizer.lr is 0.001 here and was 0.01 in the resumed ' \
           'run; applied' in log
    # epoch_1.pth holds the jumped rate 0.01 * 1000 = 10 (mmengine resumed with it); scaled by
    # 0.001 / 0.01 it is 1, and the run stays finite
    state = torch.load(tmp_path / 'resumed' / 'epoch_2.pth', map_location='cpu')
    assert state['optimizer']['param_groups'][0]['lr'] == pytest.approx(1.0)
    assert finite_checkpoint(tmp_path / 'resumed' / 'epoch_2.pth')
