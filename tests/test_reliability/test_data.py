"""COCO and DOTA data: what mmdet drops or ignores is reported once with the file and annotation
id, what would break the evaluation later is an error now, and a json or label line that does not
parse is named with its file and line (mona_mm.det.coco, mona_mm.rotate.checked). Each dataset is
built as the runner builds it: the settings of our tiny configs, through the host's registry."""
import copy
import json
import logging
import os
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mona_mm.testing import make_synthetic_coco, make_synthetic_dota
from tests.helpers import ROOT
from tests.test_reliability.logcapture import logged

CONFIGS = osp.join(ROOT, 'configs', 'tiny')
_PARSED = {}


def build(config: str, split: str, data_root: str, scope: str):
    if config not in _PARSED:
        _PARSED[config] = Config.fromfile(osp.join(CONFIGS, config))
    loader = _PARSED[config][f'{split}_dataloader']
    ds_cfg = copy.deepcopy(loader.dataset)
    ds_cfg.data_root = data_root
    registry = __import__(f'{scope}.registry', fromlist=['DATASETS'])
    __import__(f'{scope}.utils', fromlist=['x']).register_all_modules(init_default_scope=False)
    if scope == 'mmrotate':
        import mona_mm.rotate  # noqa: F401
    init_default_scope(scope)
    return registry.DATASETS.build(ds_cfg)


def coco(split, data_root):
    return build('mask-rcnn_swin-mona_tiny-coco.py', split, str(data_root) + '/', 'mmdet')


@pytest.fixture
def coco_root(tmp_path):
    make_synthetic_coco(str(tmp_path), num_train=2, num_val=1)
    return tmp_path


def edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def add_annotation(data, ann_id, **fields):
    image = data['images'][0]
    ann = dict(id=ann_id, image_id=image['id'], category_id=data['categories'][0]['id'],
               bbox=[10, 10, 20, 20], area=400, iscrowd=0,
               segmentation=[[10, 10, 30, 10, 30, 30, 10, 30]])
    ann.update(fields)
    data['annotations'].append(ann)
    return image['id']


def test_coco_dropped_annotations_are_reported_once_with_file_and_id(coco_root):
    path = coco_root / 'annotations' / 'instances_train2017.json'
    images = []
    edit_json(path, lambda d: images.extend([
        add_annotation(d, 901, bbox=[10, 10, -4, 20]),  # negative width: mmdet drops it
        add_annotation(d, 902, segmentation=[[10, 10, 30, 30]]),  # 2 points: empty mask
        add_annotation(d, 906, segmentation=[[10, 10, 20, 20, 30, 30]])]))  # on a line
    # mmdet's scope first: mmengine warns when the default scope changes, and the scope an
    # earlier test left depends on the order tests run in
    init_default_scope('mmdet')
    with logged() as records:
        dataset = coco('train', coco_root)
    warnings = [text for level, text in records if level == logging.WARNING]
    assert len(warnings) == 1, records
    assert f'3 annotation problems in {dataset.ann_file}' in warnings[0]
    assert f'id 906 (image {images[2]}): polygon of 3 points enclosing no area' in warnings[0]
    assert f'id 901 (image {images[0]}): box -4 x 20 (a width or height under one pixel' in \
        warnings[0]
    assert f'id 902 (image {images[1]}): polygon of 2 point(s) (at least 3' in warnings[0]
    assert len(dataset) == 2  # the images are all still there


def test_coco_polygon_that_would_break_the_evaluation_is_an_error_in_val(coco_root):
    path = coco_root / 'annotations' / 'instances_val2017.json'
    edit_json(path, lambda d: add_annotation(d, 903, segmentation=[[10, 10, 30, 30]]))
    with pytest.raises(ValueError, match=r'1 annotations of .*instances_val2017\.json would make '
                                         r'the COCO evaluation fail .*id 903 .*polygon of 2 '
                                         r'point'):
        coco('val', coco_root)


@pytest.mark.parametrize('content,message', [
    ('', 'is empty (0 bytes)'),
    ('{"images": [{"id": 1,\n "file_name": "a.jpg"},,]}', 'is not valid JSON at line 2, column '
                                                          '24: Expecting value'),
    ('[1, 2]', 'is not COCO json'),
])
def test_coco_empty_or_malformed_json_names_the_file(coco_root, content, message):
    path = coco_root / 'annotations' / 'instances_train2017.json'
    path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(f'The annotation file {path} {message}')):
        coco('train', coco_root)


def test_coco_non_finite_box_is_malformed(coco_root):
    path = coco_root / 'annotations' / 'instances_train2017.json'
    edit_json(path, lambda d: add_annotation(d, 905, bbox=[1, 2, float('nan'), 4]))
    with pytest.raises(ValueError, match=r'annotation 905 .*bbox \[1, 2, nan, 4\] is not '
                                         r'\[x, y, width, height\] of finite numbers'):
        coco('train', coco_root)


def test_coco_repeated_image_ids_are_an_error(coco_root):
    path = coco_root / 'annotations' / 'instances_train2017.json'

    def repeat(d):
        d['images'][1]['id'] = d['images'][0]['id']
    edit_json(path, repeat)
    with pytest.raises(ValueError, match=r'image ids \[\d+\] appear more than once in the '
                                         r'"images" of .*instances_train2017\.json'):
        coco('train', coco_root)


def test_coco_set_whose_every_box_is_dropped_is_an_error(coco_root):
    path = coco_root / 'annotations' / 'instances_train2017.json'

    def flatten(d):
        for ann in d['annotations']:
            ann['bbox'][2] = 0  # every box zero-width: mmdet drops them all
    edit_json(path, flatten)
    with pytest.raises(ValueError, match=r'every annotation of .*instances_train2017\.json is '
                                         r'one mmdet drops or ignores .*the model would train '
                                         r'on no object'):
        coco('train', coco_root)


def test_coco_malformed_annotation_names_file_and_id(coco_root):
    path = coco_root / 'annotations' / 'instances_train2017.json'
    edit_json(path, lambda d: add_annotation(d, 904, bbox=[1, 2, 3]))
    with pytest.raises(ValueError, match=r'annotation 904 \(image \d+\) of .*instances_train2017'
                                         r'\.json: bbox \[1, 2, 3\] is not \[x, y, width, '
                                         r'height\]'):
        coco('train', coco_root)


@pytest.mark.parametrize('line,problem', [
    ('1 2 3 4 5 6 harbor 8 ship 0', "coordinate 'harbor' is not a number"),
    ('imagesource:GoogleEarth', "1 fields where 10 are needed (x1 y1 x2 y2 x3 y3 x4 y4 class "
                                "difficulty) (a header line of the DOTA download"),
    ('1 2 3 4 5 6 7 8 plane 0', "class 'plane' is not one of the dataset's 3 classes"),
    ('1 2 3 4 5 6 7 8 ship', '9 fields where 10 are needed'),
    # a NaN coordinate ended in a segmentation fault; four coincident points in a diverged run
    ('10 10 nan 10 20 20 10 20 ship 0', "coordinate 'nan' is not a finite number"),
    ('30 30 30 30 30 30 30 30 ship 0', 'the four points enclose no area (0 square pixels)'),
])
def test_dota_malformed_label_line_names_file_and_line(tmp_path, line, problem):
    make_synthetic_dota(str(tmp_path), num_train=2, num_val=1, num_test=0)
    label = sorted((tmp_path / 'trainval' / 'annfiles').glob('*.txt'))[-1]
    lines = label.read_text().splitlines()
    label.write_text('\n'.join(lines + [line]) + '\n')
    with pytest.raises(ValueError, match=re.escape(
            f'CheckedDOTADataset: {label}:{len(lines) + 1}: {problem}')):
        build('oriented-rcnn-le90_swin-mona_tiny-dota.py', 'train', str(tmp_path) + '/',
              'mmrotate')


@pytest.mark.parametrize('content,message', [
    (b'', r'The image .*\.jpg is empty \(0 bytes\)'),
    (b'\xff\xd8 not a whole jpeg', r'CheckedCocoDataset: sample 0 \(.*\.jpg\): '),
])
def test_an_image_that_cannot_be_decoded_is_named(coco_root, content, message):
    """A 0-byte or broken image file: OpenCV's error named no file."""
    dataset = coco('val', coco_root)
    path = dataset.get_data_info(0)['img_path']
    with open(path, 'wb') as f:
        f.write(content)
    with pytest.raises(ValueError, match=message):
        dataset[0]


@pytest.mark.parametrize('split', ['val', 'train'])
def test_segmentation_labels_beyond_the_classes_are_named(tmp_path, split):
    """ADE20K label maps with a value above its 150 classes (200): the loss failed with
    'Target 199 is out of bounds' in training, and the evaluation counted it silently. A val/test
    set is checked whole when it is built (before testing); a training sample when it is read."""
    import cv2
    import numpy as np

    from mona_mm.testing import make_synthetic_seg
    info = make_synthetic_seg(str(tmp_path), 'ade20k', num_train=1, num_val=1)
    folder = info['val_ann_dir' if split == 'val' else 'train_ann_dir']
    label_path = osp.join(folder, sorted(os.listdir(folder))[0])
    label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
    label[:] = 200  # everywhere: a training sample is randomly cropped before it is checked
    cv2.imwrite(label_path, label.astype(np.uint8))
    expected = re.escape(f'CheckedADE20KDataset: the label map {label_path} has values [200] in '
                         f"the file, beyond the dataset's 150 classes (file values 1..150, 0 "
                         f'unlabelled')
    with pytest.raises(ValueError, match=expected):
        dataset = build('upernet_swin-mona_tiny-ade20k.py', split, str(tmp_path) + '/', 'mmseg')
        dataset[0]
