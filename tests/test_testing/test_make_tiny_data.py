"""tools/misc/make_tiny_data.py: every dataset, its options mapped onto the generators."""
import os.path as osp
import runpy
import subprocess
import sys

import pytest

from mona_mm.testing import (
    make_synthetic_coco,
    make_synthetic_dota,
    make_synthetic_seg,
    make_synthetic_voc,
)
from tests.helpers import ROOT, all_files

TOOL = osp.join(ROOT, 'tools', 'misc', 'make_tiny_data.py')
OPTIONS = ['--num-train', '3', '--num-val', '2', '--image-size', '64', '--seed', '7']
# what each command must write: the generator call with the same options
SAME_AS = {
    'coco': lambda out: make_synthetic_coco(out, num_train=3, num_val=2, image_size=64, seed=7),
    'voc': lambda out: make_synthetic_voc(out, num_trainval_2007=3, num_trainval_2012=3,
                                          num_test_2007=2, image_size=64, seed=7),
    'ade20k': lambda out: make_synthetic_seg(out, 'ade20k', 3, 2, image_size=64, seed=7),
    'potsdam': lambda out: make_synthetic_seg(out, 'potsdam', 3, 2, image_size=64, seed=7),
    'loveda': lambda out: make_synthetic_seg(out, 'loveda', 3, 2, image_size=64, seed=7),
    'dota': lambda out: make_synthetic_dota(out, 3, 2, num_test=1, image_size=64, seed=7),
    'star': lambda out: make_synthetic_dota(out, 3, 2, image_size=64, seed=7, star=True),
}


@pytest.fixture(scope='module')
def main():
    return runpy.run_path(TOOL)['main']


@pytest.mark.parametrize('dataset', sorted(SAME_AS))
def test_writes_what_the_generator_writes(main, dataset, tmp_path, capsys):
    extra = ['--num-test', '1'] if dataset == 'dota' else []
    main([dataset, str(tmp_path / 'cli')] + OPTIONS + extra)
    out = capsys.readouterr().out
    assert f'Wrote tiny {dataset} set to {tmp_path / "cli"}' in out
    SAME_AS[dataset](str(tmp_path / 'api'))
    written = all_files(str(tmp_path / 'cli'))
    assert written and written == all_files(str(tmp_path / 'api'))


def test_num_test_is_refused_where_there_is_no_unlabelled_split(main, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(['star', str(tmp_path), '--num-test', '4'])
    assert '--num-test applies to dota only' in capsys.readouterr().err


def test_command_line_with_the_defaults(tmp_path):
    """As the README runs it (a path relative to the working directory); STAR's defaults."""
    out = subprocess.run([sys.executable, TOOL, 'star', 'data/tiny_star'], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'classes: ship, airplane, truck' in out.stdout
    for folder, num in (('train/images', 64), ('train/annfiles', 64), ('test/images', 16),
                        ('test/annfiles', 16)):
        assert f'  {folder}/: {num} files' in out.stdout
    assert all_files(str(tmp_path / 'data' / 'tiny_star')) == all_files(
        make_synthetic_dota(str(tmp_path / 'api'), star=True)['data_root'])
