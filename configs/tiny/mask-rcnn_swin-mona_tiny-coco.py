# The embedded default: a small Swin-Mona Mask R-CNN on the generated tiny COCO set, trained and
# evaluated on a CPU in a few minutes (README "Quick start"). Same code path as the COCO configs:
# COCO json + images, mmdet CocoDataset, pycocotools bbox/segm AP. There are no pretrained
# weights here: the frozen backbone is random, Mona + FPN + heads learn on top of it.
#   python tools/misc/make_tiny_data.py coco data/tiny_coco
#   python tools/train.py configs/tiny/mask-rcnn_swin-mona_tiny-coco.py
_base_ = [
    '../_base_/mask-rcnn_swin-b_fpn_ms-crop-3x_coco.py',  # the full-size data and model
    '../_base_/tiny/detection.py',  # `tiny`: the small Swin, the tiny COCO data and schedule
]

model = dict(
    _base_.tiny.coco.mask_rcnn,  # narrow heads for the 64-channel FPN
    backbone=dict(_base_.tiny.swin, _delete_=True),  # replaces Swin-B, not merged into it
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64))

# the tiny set, its 128 px pipelines and 12 epochs (also as the plain keys the full-size base set)
data_root = 'data/tiny_coco/'
pretrained = None  # no pretrained weights here (the base's URL is not used)
train_pipeline = _base_.tiny.coco.train_dataloader.dataset.pipeline
test_pipeline = _base_.tiny.coco.val_dataloader.dataset.pipeline
max_epochs = 12
train_dataloader = _base_.tiny.coco.train_dataloader
val_dataloader = _base_.tiny.coco.val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.tiny.coco.val_evaluator
test_evaluator = val_evaluator

train_cfg = _base_.tiny.coco.train_cfg
param_scheduler = _base_.tiny.coco.param_scheduler
optim_wrapper = _base_.tiny.coco.optim_wrapper
default_hooks = _base_.tiny.coco.default_hooks
