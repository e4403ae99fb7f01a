"""demo/image_demo.py on generated images of other sizes than the tiny configs' 128 px: a folder
for detection, one image for segmentation, oriented detection through the same inference code,
and the errors for paths that are not images."""
import json
import os.path as osp
import runpy
import sys

import mmcv
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from mona_mm.apis import init_model
from mona_mm.inference import list_images, read_image, run_inference
from mona_mm.testing import DOTA_DEFAULT_CLASSES, make_synthetic_coco
from tests.helpers import ROOT, run
from tests.test_visualization.conftest import CONFIGS

DEMO = osp.join(ROOT, 'demo', 'image_demo.py')
#: (width, height) of the user images: wider than tall, taller than wide, none 128 px
SIZES = {'wide.png': (300, 200), 'tall.jpg': (72, 100)}


@pytest.fixture(scope='module')
def user_images(tmp_path_factory):
    """Generated scenes resized to :data:`SIZES`, and a file that is not an image."""
    folder = tmp_path_factory.mktemp('user_images')
    scenes = make_synthetic_coco(str(folder / 'gen'), num_train=0, num_val=len(SIZES))
    sources = sorted((folder / 'gen' / 'val2017').iterdir())
    for (name, size), source in zip(SIZES.items(), sources):
        mmcv.imwrite(mmcv.imresize(mmcv.imread(str(source)), size), str(folder / name))
    (folder / 'notes.txt').write_text('not an image, and not listed')
    assert scenes
    return folder


def outputs(out_dir):
    """(drawings: name -> (width, height), predictions: stem -> json)."""
    drawings = {p.name: Image.open(p).size for p in (out_dir / 'vis').iterdir()}
    preds = {p.stem: json.loads(p.read_text()) for p in (out_dir / 'preds').iterdir()}
    return drawings, preds


def test_detection_demo_on_a_folder(workspace, checkpoints, user_images, tmp_path):
    out = run([sys.executable, DEMO, str(user_images), CONFIGS['coco'], checkpoints['coco'],
               '--out-dir', str(tmp_path), '--score-thr', '0'], workspace)
    assert 'notes.txt' not in out and f'predictions in {tmp_path}/preds' in out
    drawings, preds = outputs(tmp_path)
    assert drawings == SIZES  # drawn on the image itself, whatever its size
    assert sorted(preds) == sorted(osp.splitext(n)[0] for n in SIZES)
    for name, (w, h) in SIZES.items():
        pred = preds[osp.splitext(name)[0]]
        assert (pred['width'], pred['height']) == (w, h)
        assert pred['classes'] == ['square', 'circle', 'triangle']
        boxes = np.array(pred['bboxes'])
        assert len(boxes) == len(pred['scores']) == len(pred['labels']) == len(pred['masks']) > 0
        assert (boxes[:, [0, 2]] <= w + 0.01).all() and (boxes[:, [1, 3]] <= h + 0.01).all()
        decoded = mask_utils.decode(pred['masks'][0])
        assert decoded.shape == (h, w)


def test_segmentation_demo_on_one_image(workspace, checkpoints, user_images, tmp_path):
    image = str(user_images / 'wide.png')
    out = run([sys.executable, DEMO, image, CONFIGS['ade20k'], checkpoints['ade20k'],
               '--out-dir', str(tmp_path)], workspace)
    assert 'classes, most pixels:' in out
    drawings, preds = outputs(tmp_path)
    assert drawings == {'wide.png': SIZES['wide.png']}
    labels = np.array(preds['wide']['sem_seg'])
    assert labels.shape == (200, 300)
    assert 0 <= labels.min() and labels.max() < len(preds['wide']['classes']) == 150


def test_oriented_detection_inference(checkpoints, user_images, tmp_path):
    model = init_model(CONFIGS['dota'], checkpoints['dota'])
    [pred] = run_inference(model, [str(user_images / 'tall.jpg')], str(tmp_path), 0)
    assert pred['box_type'] == 'rbox' and pred['classes'] == list(DOTA_DEFAULT_CLASSES)
    assert np.array(pred['bboxes']).shape[1] == 5  # cx, cy, w, h, angle
    drawings, _ = outputs(tmp_path)
    assert drawings == {'tall.jpg': SIZES['tall.jpg']}


def test_paths_that_are_not_images(user_images, tmp_path):
    with pytest.raises(ValueError, match='notes.txt is not an image'):
        read_image(str(user_images / 'notes.txt'))
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'\xff\xd8 truncated')
    with pytest.raises(ValueError, match='broken.jpg is not an image'):
        read_image(str(broken))
    with pytest.raises(FileNotFoundError, match='no such image file or folder'):
        list_images(str(tmp_path / 'missing.png'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no image'):
        list_images(str(tmp_path / 'empty'))
    assert [osp.basename(p) for p in list_images(str(user_images))] == ['tall.jpg', 'wide.png']


def png_header(width: int, height: int) -> bytes:
    """A PNG file's signature and header chunk declaring ``width`` x ``height`` (8-bit grey), then
    its end: what a decoder reads before it allocates the image."""
    import struct
    import zlib
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack('>I', len(body)) + kind + body + struct.pack(
            '>I', zlib.crc32(kind + body))
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IEND', b'')


def test_empty_and_oversized_images_are_refused_before_decoding(tmp_path):
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=f'The image {empty} is empty \\(0 bytes\\)'):
        read_image(str(empty))
    huge = tmp_path / 'huge.png'
    huge.write_bytes(png_header(30000, 30000))  # 900 MP declared in 45 bytes
    with pytest.raises(ValueError, match=f'The image {huge} declares 30000 x 30000 pixels '
                                         r'\(900 MP\), above the limit of 400 MP \(decoding it '
                                         r'would take 2.5 GiB\)'):
        read_image(str(huge))


def test_images_sharing_a_stem_get_their_own_prediction_files(user_images, tmp_path):
    from mona_mm.inference import output_stems
    folder = tmp_path / 'same_stem'
    folder.mkdir()
    for name in ('a.jpg', 'a.png', 'b.jpg'):
        mmcv.imwrite(mmcv.imread(str(user_images / 'tall.jpg')), str(folder / name))
    images = list_images(str(folder))
    assert sorted(output_stems(images).values()) == ['a.jpg', 'a.png', 'b']
    model = init_model(CONFIGS['coco'], None)
    run_inference(model, images, str(tmp_path / 'out'))
    assert sorted(p.name for p in (tmp_path / 'out' / 'preds').iterdir()) == [
        'a.jpg.json', 'a.png.json', 'b.json']


def test_demo_refuses_a_non_image_before_building_the_model(user_images, monkeypatch,
                                                            capsys):
    monkeypatch.setattr(sys, 'argv', [DEMO, str(user_images / 'notes.txt'), CONFIGS['coco'],
                                      'no_such_checkpoint.pth'])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(DEMO, run_name='__main__')
    assert exit_.value.code == 2
    assert 'notes.txt is not an image that can be read' in capsys.readouterr().err
