"""The mmcv CUDA ops our configs use, against their CPU results.

Each op is built or called with the settings of our own configs (read from them, not copied):
RoIAlign and NMS (Mask R-CNN / Cascade Mask R-CNN on COCO), RoIAlignRotated, rotated NMS and
box_iou_rotated (Oriented R-CNN on DOTA; rotated RetinaNet's assigner), and the sigmoid focal
loss (RetinaNet on VOC, rotated RetinaNet), which mmdet runs as an mmcv kernel only on CUDA.
No config uses deformable convolution. The UperNet configs use no mmcv op.
"""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.test_cuda.common import REQUIRES_CUDA, ROOT

pytestmark = REQUIRES_CUDA

MASK_RCNN = osp.join(ROOT, 'configs', 'mask_rcnn_swin_mona_coco.py')
CASCADE = osp.join(ROOT, 'configs', 'coco', 'cascade-mask-rcnn_swin-b-mona_16xb1-3x_coco.py')
ORIENTED = osp.join(ROOT, 'configs', 'dota', 'oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py')
RETINA_VOC = osp.join(ROOT, 'configs', 'voc', 'retinanet_swin-l-mona_8xb2-1x_voc0712.py')
ROTATED_RETINA = osp.join(ROOT, 'configs', 'dota',
                          'rotated-retinanet-rbox-le90_swin-b-mona_fpn_1x_dota.py')


def model_cfg(path):
    return Config.fromfile(path).model


def roi_layers(path):
    """(roi_layer cfg, featmap strides) of every RoI extractor in the config's roi_head."""
    head = model_cfg(path).roi_head
    found = []
    for key in ('bbox_roi_extractor', 'mask_roi_extractor'):
        extractors = head.get(key)
        for ext in extractors if isinstance(extractors, list) else [extractors]:
            if ext is not None:
                found.append((dict(ext.roi_layer), list(ext.featmap_strides)))
    assert found, f'{path} has no RoI extractor'
    return found


def build_roi_layer(cfg, stride):
    """As mmdet's BaseRoIExtractor.build_roi_layers: ``mmcv.ops.<type>(spatial_scale=1/s)``."""
    from mmcv import ops
    cfg = dict(cfg)
    return getattr(ops, cfg.pop('type'))(spatial_scale=1 / stride, **cfg)


def random_boxes(n, size, seed, clusters=8):
    """(n, 4) xyxy boxes around a few centres, so that many overlap (NMS has work to do)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(clusters, 2, generator=g) * size
    ctr = centres[torch.randint(clusters, (n, ), generator=g)] + torch.randn(n, 2, generator=g) * 6
    wh = torch.rand(n, 2, generator=g) * size / 4 + 4
    return torch.cat([ctr - wh / 2, ctr + wh / 2], dim=1).clamp(0, size)


def random_rboxes(n, size, seed, clusters=8):
    """(n, 5) (cx, cy, w, h, angle) boxes in le90 (angle in [-pi/2, pi/2))."""
    g = torch.Generator().manual_seed(seed)
    xyxy = random_boxes(n, size, seed, clusters)
    ctr, wh = (xyxy[:, :2] + xyxy[:, 2:]) / 2, (xyxy[:, 2:] - xyxy[:, :2]).clamp(min=2)
    angle = (torch.rand(n, 1, generator=g) - 0.5) * math.pi
    return torch.cat([ctr, wh, angle], dim=1)


def distinct_scores(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randperm(n, generator=g).float() + 1) / (n + 1)


def nms_cfgs(path):
    """Every NMS setting in the config's test_cfg (RPN and R-CNN stages)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if 'nms' in node and isinstance(node['nms'], dict):
                found.append(dict(node['nms']))
            for v in node.values():
                walk(v)

    walk(model_cfg(path).test_cfg.to_dict())
    assert found, f'{path} has no NMS setting'
    return found


@pytest.mark.parametrize('path', [MASK_RCNN, CASCADE], ids=['mask-rcnn', 'cascade'])
def test_roi_align_forward_and_backward(path):
    for cfg, strides in roi_layers(path):
        assert cfg['type'] == 'RoIAlign'
        for stride in strides[:2]:
            layer = build_roi_layer(cfg, stride)
            g = torch.Generator().manual_seed(stride)
            feats = torch.randn(2, 8, 256 // stride, 256 // stride, generator=g)
            boxes = random_boxes(40, 256, seed=stride)
            rois = torch.cat([torch.randint(2, (40, 1), generator=g).float(), boxes], dim=1)
            outs, grads = [], []
            for device in ('cpu', 'cuda'):
                x = feats.to(device, copy=True).requires_grad_()  # a leaf on each device
                out = layer(x, rois.to(device))
                out.backward(torch.ones_like(out))
                outs.append(out.detach().cpu())
                grads.append(x.grad.cpu())
            assert outs[0].shape == (40, 8, *layer.output_size)
            # the kernels round the sample coordinates differently (fma on the GPU): measured on
            # an H200, 7 of 62,720 values differ by up to 1.5e-5
            torch.testing.assert_close(outs[1], outs[0], rtol=1e-4, atol=1e-4)
            torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-4)


def test_roi_align_rotated_forward_and_backward():
    for cfg, strides in roi_layers(ORIENTED):
        assert cfg['type'] == 'RoIAlignRotated'
        for stride in strides[:2]:
            layer = build_roi_layer(cfg, stride)
            g = torch.Generator().manual_seed(stride)
            feats = torch.randn(2, 8, 256 // stride, 256 // stride, generator=g)
            rboxes = random_rboxes(40, 256, seed=stride)
            rois = torch.cat([torch.randint(2, (40, 1), generator=g).float(), rboxes], dim=1)
            outs, grads = [], []
            for device in ('cpu', 'cuda'):
                x = feats.to(device, copy=True).requires_grad_()  # a leaf on each device
                out = layer(x, rois.to(device))
                out.backward(torch.ones_like(out))
                outs.append(out.detach().cpu())
                grads.append(x.grad.cpu())
            assert outs[0].abs().sum() > 0
            torch.testing.assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('path', [MASK_RCNN, CASCADE, RETINA_VOC],
                         ids=['mask-rcnn', 'cascade', 'retinanet'])
def test_batched_nms_keeps_the_same_boxes(path):
    from mmcv.ops import batched_nms
    boxes, scores = random_boxes(300, 512, seed=0), distinct_scores(300, seed=0)
    labels = torch.randint(3, (300, ), generator=torch.Generator().manual_seed(0))
    for cfg in nms_cfgs(path):
        assert cfg['type'] == 'nms'
        kept = [batched_nms(boxes.to(d), scores.to(d), labels.to(d), dict(cfg))
                for d in ('cpu', 'cuda')]
        (dets_cpu, keep_cpu), (dets_gpu, keep_gpu) = kept
        assert 0 < len(keep_cpu) < len(boxes), cfg  # the threshold suppressed some, kept some
        assert torch.equal(keep_gpu.cpu(), keep_cpu), cfg
        torch.testing.assert_close(dets_gpu.cpu(), dets_cpu)


@pytest.mark.parametrize('path', [ORIENTED, ROTATED_RETINA], ids=['oriented-rcnn', 'retinanet'])
def test_rotated_nms_keeps_the_same_boxes(path):
    from mmcv.ops import batched_nms
    rboxes, scores = random_rboxes(300, 512, seed=1), distinct_scores(300, seed=1)
    labels = torch.randint(3, (300, ), generator=torch.Generator().manual_seed(1))
    rotated = [c for c in nms_cfgs(path) if c['type'] == 'nms_rotated']
    assert rotated, f'{path} uses no rotated NMS'
    for cfg in rotated:
        kept = [batched_nms(rboxes.to(d), scores.to(d), labels.to(d), dict(cfg))
                for d in ('cpu', 'cuda')]
        (dets_cpu, keep_cpu), (dets_gpu, keep_gpu) = kept
        assert 0 < len(keep_cpu) < len(rboxes), cfg
        assert torch.equal(keep_gpu.cpu(), keep_cpu), cfg
        torch.testing.assert_close(dets_gpu.cpu(), dets_cpu)


@pytest.mark.parametrize('mode', ['iou', 'iof'])
@pytest.mark.parametrize('aligned', [False, True], ids=['pairwise', 'aligned'])
def test_box_iou_rotated(mode, aligned):
    """The kernel behind mmrotate's RBboxOverlaps2D (our rotated assigners) and DOTAMetric."""
    from mmcv.ops import box_iou_rotated
    a, b = random_rboxes(120, 256, seed=2), random_rboxes(120 if aligned else 80, 256, seed=3)
    ious = [box_iou_rotated(a.to(d), b.to(d), mode=mode, aligned=aligned)
            for d in ('cpu', 'cuda')]
    assert ious[0].shape == ((120, ) if aligned else (120, 80))
    assert (ious[0] > 0).any() and (ious[0] <= 1 + 1e-5).all()
    torch.testing.assert_close(ious[1].cpu(), ious[0], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('path', [RETINA_VOC, ROTATED_RETINA], ids=['voc', 'dota'])
def test_sigmoid_focal_loss_kernel_matches_the_python_formula(path):
    """On CUDA mmdet's FocalLoss calls mmcv's kernel with integer labels; on a CPU it computes
    the same loss in PyTorch. Labels equal to num_classes are background."""
    from mmdet.models.losses import FocalLoss
    cfg = dict(model_cfg(path).bbox_head.loss_cls)
    assert cfg.pop('type').split('.')[-1] == 'FocalLoss' and cfg['use_sigmoid']  # mmdet.FocalLoss
    num_classes = model_cfg(path).bbox_head.num_classes
    loss_fn = FocalLoss(**cfg)
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(500, num_classes, generator=g) * 3
    labels = torch.randint(num_classes + 1, (500, ), generator=g)
    weights = torch.rand(500, generator=g)
    losses, grads = [], []
    for device in ('cpu', 'cuda'):
        x = logits.to(device, copy=True).requires_grad_()  # a leaf on each device
        loss = loss_fn(x, labels.to(device), weights.to(device), avg_factor=123.0)
        loss.backward()
        losses.append(loss.detach().cpu())
        grads.append(x.grad.cpu())
    assert losses[0] > 0
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-6)
