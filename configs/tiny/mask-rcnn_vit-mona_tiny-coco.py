# A small ViT-Mona Mask R-CNN with the simple feature pyramid on the generated tiny COCO set,
# trained and evaluated on a CPU in minutes. Same code path as configs/coco/mask-rcnn_vit-b16-*
# (whose base it inherits): ViTMona's last map through ViTDet's pyramid, mmdet's Mask R-CNN heads,
# COCO json + images, pycocotools bbox/segm AP. No pretrained weights here: the frozen backbone is
# random, Mona + neck + heads learn on top of it.
#   python tools/misc/make_tiny_data.py coco data/tiny_coco
#   python tools/train.py configs/tiny/mask-rcnn_vit-mona_tiny-coco.py
_base_ = [
    '../_base_/mask-rcnn_vit-b16_sfp_ms-crop-3x_coco.py',  # the full-size data and model
    '../_base_/tiny/detection.py',  # `tiny`: the tiny COCO data and schedule
]

model = dict(
    _base_.tiny.coco.mask_rcnn,  # narrow heads for the 64-channel pyramid
    backbone=dict(  # merged into ViT-B: 4 blocks of 64 channels (8 x 8 tokens a 128 px image)
        embed_dims=64,
        num_layers=4,
        num_heads=2,
        img_size=(128, 128),
        out_indices=(3, ),
        tuning=dict(type='Mona', bottleneck=16),
        init_cfg=None),
    neck=dict(in_channels=64, out_channels=64))

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
