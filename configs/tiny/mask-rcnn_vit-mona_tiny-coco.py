# A small ViT-Mona Mask R-CNN with the simple feature pyramid on the generated tiny COCO set,
# trained and evaluated on a CPU in minutes. Same code path as configs/coco/mask-rcnn_vit-b16-*
# (whose base it inherits): ViTMona's last map through ViTDet's pyramid, mmdet's Mask R-CNN heads,
# COCO json + images, pycocotools bbox/segm AP. No pretrained weights here: the frozen backbone is
# random, Mona + neck + heads learn on top of it.
#   python tools/misc/make_tiny_data.py coco data/tiny_coco
#   python tools/train.py configs/tiny/mask-rcnn_vit-mona_tiny-coco.py
_base_ = [
    '../_base_/mask-rcnn_vit-b16_sfp_ms-crop-3x_coco.py',  # the full-size data and model
    '../_base_/tiny/detection.py',  # `tiny`: CPU loading
]

data_root = 'data/tiny_coco/'
classes = ('square', 'circle', 'triangle')
image_size = (128, 128)

model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(  # merged into ViT-B: 4 blocks of 64 channels (8 x 8 tokens a 128 px image)
        embed_dims=64,
        num_layers=4,
        num_heads=2,
        img_size=image_size,
        out_indices=(3, ),
        tuning=dict(type='Mona', bottleneck=16),
        init_cfg=None),
    neck=dict(in_channels=64, out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=len(classes)),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(in_channels=64, conv_out_channels=64, num_classes=len(classes))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    _base_.tiny.loader,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=train_pipeline))
val_dataloader = dict(
    _base_.tiny.loader,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[10], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
