"""A 2-process run (gloo, CPU) whose other worker dies or hangs: the surviving process stops within
the distributed timeout with an error saying what happened, instead of waiting forever, and the
checkpoints written before are complete (mona_mm.runner.run_train)."""
import os
import re
import signal
import socket
import time

import pytest
import torch

from mona_mm.checkpoints.files import checkpoint_file_problem
from mona_mm.runner import run_train
from tests.test_reliability.toy import toy_config

TIMEOUT = 5  # env_cfg.dist_cfg.timeout of the run, in seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_worker(rank: int, cfg, port: int, report: str) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:  # the child: never returns into pytest
        os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank),
                          WORLD_SIZE='2', LOCAL_RANK=str(rank))
        run_train(cfg)
    except BaseException as e:
        with open(report, 'w') as f:
            f.write(f'{type(e).__name__}: {e}')
        code = 1
    os._exit(code)


@pytest.mark.parametrize('fault,reason', [(signal.SIGKILL, 'Connection (closed|reset) by peer'),
                                          (signal.SIGSTOP, 'Timed out')])
def test_survivor_stops_with_a_clear_error_and_checkpoints_stay(tmp_path, fault, reason):
    # 8 samples on 2 ranks, batch 2: 2 iterations per epoch; rank 1 dies (or hangs) after the
    # first iteration of epoch 2, once epoch_1.pth is written
    cfg = toy_config(tmp_path, launcher='pytorch',
                     hooks=[dict(type='FaultHook', signal_at=(1, 3, fault))],
                     env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=TIMEOUT)))
    port = free_port()
    reports = [str(tmp_path / f'rank{r}.txt') for r in range(2)]
    start = time.time()
    pids = [start_worker(r, cfg, port, reports[r]) for r in range(2)]
    try:
        status = None
        while time.time() - start < TIMEOUT + 60:
            done, status = os.waitpid(pids[0], os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            pytest.fail('rank 0 still waits for the lost worker')
        elapsed = time.time() - start
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1
    error = open(reports[0]).read()
    assert error.startswith('DistributedFault: Rank 0 of 2 lost the other training processes '
                            'at iteration 4 (epoch 2): '), error
    assert re.search(reason, error) and 'stops instead of waiting' in error
    assert f'newest: {tmp_path / "epoch_1.pth"}' in error and '--resume' in error
    assert elapsed < TIMEOUT + 60
    assert checkpoint_file_problem(str(tmp_path / 'epoch_1.pth')) is None
    torch.load(tmp_path / 'epoch_1.pth', map_location='cpu')


def run_two_processes(cfg, tmp_path, name: str) -> None:
    """Both ranks of a 2-process gloo run of ``cfg``; fails with a rank's error if one fails."""
    port = free_port()
    reports = [str(tmp_path / f'{name}_rank{r}.txt') for r in range(2)]
    pids = [start_worker(r, cfg, port, reports[r]) for r in range(2)]
    for rank, pid in enumerate(pids):
        _, status = os.waitpid(pid, 0)
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            pytest.fail(f'rank {rank} of {name}: ' + (open(reports[rank]).read()
                                                      if os.path.exists(reports[rank]) else ''))


def test_resumed_two_process_run_is_bit_identical(tmp_path):
    """Each rank draws its own random numbers (dropout, diff_rank_seed); the checkpoint keeps
    every rank's RNG states, so a run resumed from epoch 1 ends with the uninterrupted run's
    weights (before, only rank 0's states came back)."""
    def config(work_dir, **extra):
        return toy_config(work_dir, max_epochs=3, launcher='pytorch', model=dict(dropout=0.5),
                          checkpoint=dict(max_keep_ckpts=3),
                          randomness=dict(seed=0, diff_rank_seed=True),
                          env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=60)), **extra)
    straight = tmp_path / 'straight'
    run_two_processes(config(straight), tmp_path, 'straight')
    resumed = tmp_path / 'resumed'
    run_two_processes(config(resumed, resume=True, load_from=str(straight / 'epoch_1.pth')),
                      tmp_path, 'resumed')
    a = torch.load(straight / 'epoch_3.pth', map_location='cpu')
    b = torch.load(resumed / 'epoch_3.pth', map_location='cpu')
    for key, value in a['state_dict'].items():
        assert torch.equal(b['state_dict'][key], value), key
    assert len(a['meta']['rng_state']['ranks']) == 2
