"""Inference on the user's own images, drawn by the host library and dumped as json.

What ``demo/image_demo.py`` does, for mmdet, mmseg and mmrotate models alike (the host is the
config's ``default_scope``): each image goes through the host's own inference function
(``mmdet.apis.inference_detector``, which mmrotate's demo uses too, or
``mmseg.apis.inference_model``) with the config's test pipeline, less its annotation loading;
the prediction is drawn on the image by the config's visualizer (``DetLocalVisualizer``,
``SegLocalVisualizer``, ``RotLocalVisualizer``) into ``OUT_DIR/vis/NAME`` and written as json
into ``OUT_DIR/preds/STEM.json`` (``NAME.json`` where two images share a stem), the
layout of mmdet's ``DetInferencer``. The model comes from
:func:`mona_mm.apis.init_model`, so full, delta and merged checkpoints all work. The test
pipeline resizes each image as in testing and the predictions are mapped back to the image, so
images of any size work.

json of one image: ``image``, ``height``, ``width``, ``classes`` (the model's class names), and

* detection: ``labels``, ``scores``, ``bboxes`` (``x1, y1, x2, y2`` in pixels) and, for
  instance segmentation, ``masks`` (COCO run-length encoding), as ``DetInferencer`` writes them;
* oriented detection: the same with ``bboxes`` as ``cx, cy, w, h, angle`` (radians, the
  config's angle convention) and ``box_type: "rbox"``;
* segmentation: ``sem_seg``, the class index of every pixel (``height`` rows of ``width``).
"""
import copy
import importlib
import json
import os
import os.path as osp
from datetime import datetime
from typing import Dict, List, Sequence

import mmcv
import numpy as np
import torch.nn as nn
from mmengine.config import Config
from mmengine.visualization import Visualizer

from mona_mm.datasets.checks import check_image_file
from mona_mm.visualization import has_display

#: what the host libraries' inferencers list in a folder (mmengine's/mmcv's image suffixes)
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


def list_images(path: str) -> List[str]:
    """The image files named by ``path``: the file itself, or a folder's images (sorted).

    Files of a folder are taken by their suffix (:data:`IMAGE_EXTENSIONS`), others skipped, as
    the host inferencers do; a file given by name is taken whatever its suffix, and
    :func:`read_image` says if it is not an image.

    Raises:
        FileNotFoundError: ``path`` does not exist, or is a folder without images.
    """
    if osp.isdir(path):
        names = sorted(n for n in os.listdir(path)
                       if n.lower().endswith(IMAGE_EXTENSIONS) and osp.isfile(osp.join(path, n)))
        if not names:
            raise FileNotFoundError(f'{path} holds no image (files ending in '
                                    f'{", ".join(IMAGE_EXTENSIONS)}).')
        return [osp.join(path, n) for n in names]
    if osp.isfile(path):
        return [path]
    raise FileNotFoundError(f'{path}: no such image file or folder.')


def read_image(path: str) -> np.ndarray:
    """Decode an image file as the test pipelines do (colour, BGR, uint8).

    Returns:
        The image, shape ``(H, W, 3)``.

    Raises:
        ValueError: the file is empty, declares more pixels than the limit
            (``mona_mm.datasets.checks.MAX_IMAGE_PIXELS``), or is not an image OpenCV can decode.
    """
    check_image_file(path)
    try:
        image = mmcv.imread(path)
    except Exception as e:  # mmcv/OpenCV raise various errors for what they cannot decode
        raise ValueError(f'{path} is not an image that can be read ({e}).') from e
    if image is None or image.size == 0:
        raise ValueError(f'{path} is not an image that can be read: not an image file, or '
                         f'corrupt (readable formats include {", ".join(IMAGE_EXTENSIONS)}).')
    return image


def output_stems(images: List[str]) -> Dict[str, str]:
    """The name each image's prediction file gets: its stem (``a`` for ``a.jpg``), or its whole
    name where two images share a stem (``a.jpg``, ``a.png``), so that none overwrites another."""
    stems = [osp.splitext(osp.basename(p))[0] for p in images]
    return {p: (stem if stems.count(stem) == 1 else osp.basename(p))
            for p, stem in zip(images, stems)}


def _transform_name(transform: dict) -> str:
    return str(transform.get('type', '')).split('.')[-1]


def detection_pipeline(cfg: Config):
    """The config's test pipeline for an image array: no annotation loading, and the loader
    of mmdet's inference for arrays (``LoadImageFromNDArray``) in place of the file loader."""
    from mmcv.transforms import Compose
    from mmdet.utils import get_test_pipeline_cfg
    pipeline = [t for t in copy.deepcopy(get_test_pipeline_cfg(cfg))
                if _transform_name(t) != 'LoadAnnotations']
    if _transform_name(pipeline[0]) != 'LoadImageFromFile':
        raise ValueError('The test pipeline should start with LoadImageFromFile; found '
                         f'{pipeline[0].get("type")!r}.')
    pipeline[0]['type'] = 'mmdet.LoadImageFromNDArray'
    return Compose(pipeline)


def dataset_meta(model: nn.Module) -> dict:
    """Class names and palette: the checkpoint's (``model.dataset_meta``), else the config's
    test dataset's."""
    meta = getattr(model, 'dataset_meta', None)
    if meta:
        return meta
    cfg = model.cfg
    datasets = importlib.import_module(f'{cfg.default_scope}.registry').DATASETS
    return datasets.build(dict(cfg.test_dataloader.dataset, lazy_init=True)).metainfo


def build_visualizer(model: nn.Module) -> Visualizer:
    """The config's visualizer, on its own name, without storage backends (files are written
    with ``out_file``), knowing the model's classes."""
    cfg = copy.deepcopy(model.cfg.visualizer)
    cfg.pop('vis_backends', None)
    cfg['name'] = f'mona_mm_inference_{datetime.now().timestamp()}'
    visualizers = importlib.import_module(f'{model.cfg.default_scope}.registry').VISUALIZERS
    visualizer = visualizers.build(cfg)
    visualizer.dataset_meta = dataset_meta(model)
    return visualizer


def prediction_to_dict(sample, classes: Sequence[str]) -> Dict[str, object]:
    """The json-ready content of one prediction (see the module docstring)."""
    result: Dict[str, object] = {'classes': list(classes)}
    if 'pred_sem_seg' in sample:
        result['sem_seg'] = sample.pred_sem_seg.data[0].cpu().numpy().astype(int).tolist()
        return result
    instances = sample.pred_instances
    bboxes = instances.bboxes
    bboxes = getattr(bboxes, 'tensor', bboxes)  # box structures (mmrotate) hold a tensor
    result.update(labels=instances.labels.cpu().tolist(),
                  scores=[round(float(s), 5) for s in instances.scores.cpu()],
                  bboxes=bboxes.detach().cpu().double().numpy().round(2).tolist())
    if bboxes.shape[-1] == 5:
        result['box_type'] = 'rbox'
    if 'masks' in instances:
        from mmdet.structures.mask import encode_mask_results
        masks = encode_mask_results(instances.masks.detach().cpu().numpy())
        for mask in masks:
            if isinstance(mask['counts'], bytes):
                mask['counts'] = mask['counts'].decode()
        result['masks'] = masks
    return result


def predict(model: nn.Module, image: np.ndarray, pipeline=None):
    """The host's inference on one image.

    Args:
        model: From :func:`mona_mm.apis.init_model`.
        image: ``(H, W, 3)`` BGR uint8, as :func:`read_image` returns.
        pipeline: For detection hosts, :func:`detection_pipeline` of the model's config (built
            once per run).

    Returns:
        The data sample with ``pred_instances`` or ``pred_sem_seg``, in the image's pixels.
    """
    if model.cfg.default_scope == 'mmseg':
        from mmseg.apis import inference_model
        return inference_model(model, image)
    from mmdet.apis import inference_detector
    return inference_detector(model, image, test_pipeline=pipeline)


def run_inference(model: nn.Module,
                  images: Sequence[str],
                  out_dir: str,
                  score_thr: float = 0.3,
                  show: bool = False,
                  wait_time: float = 0) -> List[Dict[str, object]]:
    """Predict, draw and dump every image (see the module docstring).

    Args:
        model: From :func:`mona_mm.apis.init_model`, with ``model.cfg``.
        images: Image files (:func:`list_images`).
        out_dir: Receives ``vis/NAME`` (the drawing) and ``preds/STEM.json`` of each image.
        score_thr: Detections below this score are not drawn (all are written to json).
        show: Also show each drawing in a window (needs a display).
        wait_time: Seconds each drawing is shown.

    Returns:
        The json content of each image, in order.

    Raises:
        ValueError: an image cannot be read (checked for all before the first prediction).
        RuntimeError: ``show`` without a display.
    """
    if show and not has_display():
        raise RuntimeError('--show needs a display (DISPLAY or WAYLAND_DISPLAY is not set); the '
                           'drawings are written to OUT_DIR/vis/ in any case.')
    for path in images:
        read_image(path)  # every path is an image before any time goes into inference
    segmentation = model.cfg.default_scope == 'mmseg'
    pipeline = None if segmentation else detection_pipeline(model.cfg)
    visualizer = build_visualizer(model)
    classes = visualizer.dataset_meta.get('classes', ())
    os.makedirs(osp.join(out_dir, 'vis'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'preds'), exist_ok=True)
    results = []
    stems = output_stems(images)
    for path in images:
        image = read_image(path)
        sample = predict(model, image, pipeline)
        name = osp.basename(path)
        draw_args = {} if segmentation else dict(pred_score_thr=score_thr)
        visualizer.add_datasample(name, mmcv.bgr2rgb(image), sample, draw_gt=False, show=show,
                                  wait_time=wait_time, out_file=osp.join(out_dir, 'vis', name),
                                  **draw_args)
        result = dict(image=path, height=image.shape[0], width=image.shape[1],
                      **prediction_to_dict(sample, classes))
        with open(osp.join(out_dir, 'preds', stems[path] + '.json'), 'w') as f:
            json.dump(result, f)
        results.append(result)
    return results
