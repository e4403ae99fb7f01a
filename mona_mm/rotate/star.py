"""STAR (RSG): oriented detection with 48 classes in large-size VHR satellite imagery.

Dataset of "Scene Graph Generation in Large-Size VHR Satellite Imagery: A Large-Scale Dataset and
A Context-Aware Approach" (Li, Wang, Wang, Wang, Sun, Yang et al., 2024), on which the Mona paper
reports oriented detection through STAR-MMRotate (github VisionXLab/STAR-MMRotate, Apache-2.0).
Its labels are DOTA-style text files (``x1 y1 ... x4 y4 class difficulty``), so the dataset is
mmrotate's ``DOTADataset`` with STAR's classes, in the order of STAR-MMRotate's ``STARDataset``
(label index = position) and with its palette. The layout is
``train/{images,annfiles}``, ``test/{images,annfiles}`` (docs/oriented_detection.md).

Importing :mod:`mona_mm.rotate` registers ``STARDataset`` in mmrotate's ``DATASETS`` registry,
after the shims without which mmrotate 1.0.0rc1 does not import on our stack.
"""
import inspect

from mmrotate.datasets import DOTADataset
from mmrotate.registry import DATASETS

STAR_CLASSES = (
    'ship', 'boat', 'crane', 'goods_yard', 'tank', 'storehouse', 'breakwater', 'dock',
    'airplane', 'boarding_bridge', 'runway', 'taxiway', 'terminal', 'apron', 'gas_station',
    'truck', 'car', 'truck_parking', 'car_parking', 'bridge', 'cooling_tower', 'chimney',
    'vapor', 'smoke', 'genset', 'coal_yard', 'lattice_tower', 'substation', 'wind_mill',
    'cement_concrete_pavement', 'toll_gate', 'flood_dam', 'gravity_dam', 'ship_lock',
    'ground_track_field', 'basketball_court', 'engineering_vehicle', 'foundation_pit',
    'intersection', 'soccer_ball_field', 'tennis_court', 'tower_crane', 'unfinished_building',
    'arch_dam', 'roundabout', 'baseball_diamond', 'stadium', 'containment_vessel')

# STAR-MMRotate's visualisation colours (RGB), one per class in the order above.
STAR_PALETTE = [
    (165, 42, 42), (189, 183, 107), (0, 255, 0), (255, 0, 0), (138, 43, 226), (255, 128, 0),
    (255, 0, 255), (0, 255, 255), (255, 193, 193), (0, 51, 153), (255, 250, 205), (0, 139, 139),
    (255, 255, 0), (147, 116, 116), (0, 0, 255), (209, 99, 106), (5, 121, 0), (227, 255, 205),
    (147, 186, 208), (153, 69, 1), (3, 95, 161), (163, 255, 0), (119, 0, 170), (0, 182, 199),
    (0, 165, 120), (183, 130, 88), (95, 32, 0), (130, 114, 135), (110, 129, 133),
    (166, 74, 118), (219, 142, 185), (79, 210, 114), (178, 90, 62), (65, 70, 15),
    (127, 167, 115), (59, 105, 106), (142, 108, 45), (196, 172, 0), (95, 54, 80),
    (128, 76, 255), (201, 57, 1), (246, 0, 122), (191, 162, 208), (166, 196, 102),
    (208, 195, 210), (255, 109, 65), (0, 143, 149), (179, 0, 194)
]


def dota_kwargs(kwargs: dict) -> dict:
    """``kwargs`` for the installed ``DOTADataset``: ``img_shape`` only where it takes one.

    mmrotate 1.0.0rc1's ``DOTADataset`` records ``img_shape`` (the patches' size) for each sample;
    onedl-mmrotate 1.2's reads each image's size itself and refuses the argument. Probed from the
    signature, so that one config serves both.
    """
    if 'img_shape' not in inspect.signature(DOTADataset.__init__).parameters:
        kwargs.pop('img_shape', None)
    return kwargs


@DATASETS.register_module()
class STARDataset(DOTADataset):
    """STAR's 48-class oriented-detection set, read from DOTA-style label files.

    Arguments are those of mmrotate's ``DOTADataset``: ``ann_file`` is a folder of ``*.txt``
    label files (``''`` to list the ``*.png`` of ``data_prefix['img_path']`` without labels),
    ``img_shape`` the patch size recorded as height and width (left out where the installed
    mmrotate takes none: :func:`dota_kwargs`), ``diff_thr`` the difficulty above
    which objects are ignored. A class name outside :data:`STAR_CLASSES` in a label file raises
    ``KeyError`` while loading.

    Example:
        >>> ds = STARDataset(data_root='data/STAR/', ann_file='test/annfiles/',
        ...                  data_prefix=dict(img_path='test/images/'), test_mode=True)
    """

    METAINFO = {'classes': STAR_CLASSES, 'palette': STAR_PALETTE}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **dota_kwargs(kwargs))
