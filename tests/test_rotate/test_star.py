"""STARDataset: STAR's 48 classes in order, registered in mmrotate, reading DOTA-style labels.

``mona_mm.rotate`` is imported explicitly: ``import mona_mm`` does not load it (rotated detection
is opt-in; tests/test_registration.py checks that).
"""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mona_mm.rotate import STAR_CLASSES, STAR_PALETTE, STARDataset
from mona_mm.testing import make_synthetic_dota

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_STAR = osp.join(ROOT, 'configs', 'tiny', 'oriented-rcnn-le90_swin-mona_tiny-star.py')

# The STAR classes in the order of the public STAR-MMRotate code (label = position),
# as docs/oriented_detection.md lists them
REFERENCE = """ship, boat, crane, goods_yard, tank, storehouse, breakwater, dock, airplane,
boarding_bridge, runway, taxiway, terminal, apron, gas_station, truck, car, truck_parking,
car_parking, bridge, cooling_tower, chimney, vapor, smoke, genset, coal_yard, lattice_tower,
substation, wind_mill, cement_concrete_pavement, toll_gate, flood_dam, gravity_dam, ship_lock,
ground_track_field, basketball_court, engineering_vehicle, foundation_pit, intersection,
soccer_ball_field, tennis_court, tower_crane, unfinished_building, arch_dam, roundabout,
baseball_diamond, stadium, containment_vessel"""


@pytest.fixture(scope='module')
def tiny_star(tmp_path_factory):
    return make_synthetic_dota(str(tmp_path_factory.mktemp('tiny_star')), num_train=12,
                               num_val=8, star=True)


def test_classes_and_palette():
    assert STAR_CLASSES == tuple(c.strip() for c in REFERENCE.split(','))
    assert len(set(STAR_CLASSES)) == 48
    assert STARDataset.METAINFO == {'classes': STAR_CLASSES, 'palette': STAR_PALETTE}
    assert len(STAR_PALETTE) == 48
    assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in STAR_PALETTE)


def test_registered_in_mmrotate():
    from mmrotate.datasets import DOTADataset
    from mmrotate.registry import DATASETS
    assert issubclass(STARDataset, DOTADataset)
    assert DATASETS.get('STARDataset') is STARDataset


def test_import_registers_in_a_fresh_interpreter():
    """The package brings mmrotate up through its shims by itself."""
    code = ('import mona_mm.rotate\n'
            'from mmrotate.registry import DATASETS\n'
            'print(DATASETS.get("STARDataset").__module__)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-1] == 'mona_mm.rotate.star'


@pytest.mark.parametrize('split', ['train', 'test'])
def test_reads_the_star_layout(tiny_star, split):
    ds = STARDataset(data_root=tiny_star['data_root'], ann_file=f'{split}/annfiles/',
                     data_prefix=dict(img_path=f'{split}/images/'), img_shape=(128, 128),
                     pipeline=[], lazy_init=False)
    assert ds.metainfo['classes'] == STAR_CLASSES
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert len(infos) == tiny_star[f'num_{split}_images']
    instances = [inst for info in infos for inst in info['instances']]
    assert len(instances) == tiny_star[f'num_{split}_instances']
    # ship, airplane, truck are STAR labels 0, 8 and 15
    assert {inst['bbox_label'] for inst in instances} == {0, 8, 15}
    assert all(len(inst['bbox']) == 8 and inst['ignore_flag'] == 0 for inst in instances)
    assert all(osp.isfile(info['img_path']) for info in infos)


def test_unknown_class_name_is_an_error(tmp_path):
    (tmp_path / 'annfiles').mkdir()
    (tmp_path / 'annfiles' / 'P0000__128__0___0.txt').write_text(
        '1 1 9 1 9 5 1 5 small-vehicle 0\n')  # a DOTA class, not a STAR one
    with pytest.raises(KeyError, match='small-vehicle'):
        STARDataset(data_root=str(tmp_path), ann_file='annfiles/',
                    data_prefix=dict(img_path='images/'), pipeline=[])


def test_tiny_star_config_pipeline_gives_rotated_boxes(tiny_star):
    """Built from the shipped config (default scope mmrotate), as the runner does."""
    from mmrotate.registry import DATASETS
    from mmrotate.structures.bbox import RotatedBoxes
    from mmrotate.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope('mmrotate')
    cfg = Config.fromfile(TINY_STAR)
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = tiny_star['data_root']
        ds = DATASETS.build(loader.dataset)
        assert isinstance(ds, STARDataset)  # CheckedSTARDataset: bad label lines named
        sample = ds[0]
        assert sample['inputs'].shape == (3, 128, 128)
        gt = sample['data_samples'].gt_instances
        assert isinstance(gt.bboxes, RotatedBoxes) and gt.bboxes.tensor.shape[1] == 5
        assert len(gt.bboxes) == len(gt.labels) >= 1
        assert set(gt.labels.tolist()) <= {0, 8, 15}
        # rotated rectangles whose long side / short side is the generator's aspect ratio
        w, h = gt.bboxes.tensor[:, 2], gt.bboxes.tensor[:, 3]
        assert torch.all(torch.maximum(w, h) / torch.minimum(w, h) > 1.4)
