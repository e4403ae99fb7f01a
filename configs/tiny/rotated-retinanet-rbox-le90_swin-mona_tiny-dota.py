# A small Swin-Mona rotated RetinaNet on the generated tiny DOTA set (CPU, minutes): the
# one-stage detector of configs/dota/ with a small model and 128 px images; no pretrained weights.
#   python tools/misc/make_tiny_data.py dota data/tiny_dota
#   python tools/train.py configs/tiny/rotated-retinanet-rbox-le90_swin-mona_tiny-dota.py
_base_ = ['../dota/rotated-retinanet-rbox-le90_swin-b-mona_fpn_1x_dota.py']

data_root = 'data/tiny_dota/'
# the generator's DOTA-v1.0 classes (mona_mm.testing.DOTA_DEFAULT_CLASSES)
classes = ('large-vehicle', 'ship', 'harbor')
image_size = (128, 128)

model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinMona',
        embed_dims=32,
        depths=(2, 2, 2, 2),
        num_heads=(1, 2, 4, 8),
        window_size=4,
        drop_path_rate=0.1,
        out_indices=(1, 2, 3),
        tuning=dict(type='Mona', bottleneck=16),
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256], out_channels=64),
    bbox_head=dict(
        num_classes=len(classes),
        in_channels=64,
        feat_channels=64,
        stacked_convs=2),
    test_cfg=dict(nms_pre=500, max_per_img=50))

# mmrotate's DOTA pipelines at 128 px
train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.Resize', scale=image_size, keep_ratio=True),
    dict(type='mmdet.RandomFlip', prob=0.75, direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='mmdet.PackDetInputs')
]
val_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=image_size, keep_ratio=True),
    # after Resize, so that the labels stay in original-image coordinates
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        img_shape=image_size,  # recorded as each patch's height and width
        pipeline=train_pipeline))
# evaluation on the held-out val/ split (the generator makes it disjoint from trainval/)
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='val/annfiles/',
        data_prefix=dict(img_path='val/images/'),
        metainfo=dict(classes=classes),
        img_shape=image_size,
        pipeline=val_pipeline))
test_dataloader = val_dataloader

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[10], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=1e-3))  # from scratch, small batch: larger than 5e-5
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
