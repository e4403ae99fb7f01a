# A small Swin-Mona RetinaNet on the generated tiny VOCdevkit (real VOC2007 + VOC2012 layout and
# XML schema), trained and evaluated on a CPU in minutes. Same code path as configs/voc/ (whose
# base it inherits): VOC07+12 trainval in a RepeatDataset x3, CheckedVOCDataset, FPN with extra
# convs on input, VOC07 11-point mAP on VOC2007 test. No pretrained weights here: the frozen
# backbone is random, Mona + FPN + head learn on top of it.
#   python tools/misc/make_tiny_data.py voc data/tiny_voc/VOCdevkit
#   python tools/train.py configs/tiny/retinanet_swin-mona_tiny-voc0712.py
_base_ = [
    '../_base_/retinanet_swin-l_fpn_8xb2-1x_voc0712.py',  # the full-size data and model
    '../_base_/tiny/detection.py',  # `tiny`: the small Swin and CPU loading
]

data_root = 'data/tiny_voc/VOCdevkit/'
pretrained = None  # no pretrained weights here (the base's URL is not used)
scale = (200, 120)  # mmdet's (1000, 600) / 5, for 192 px images

model = dict(
    backbone=dict(
        _base_.tiny.swin,
        _delete_=True,  # replaces Swin-L, not merged into it
        out_indices=(1, 2, 3),  # as the real config: strides 8, 16, 32
        frozen_stages=0),
    neck=dict(in_channels=[64, 128, 256], out_channels=64),
    bbox_head=dict(in_channels=64, feat_channels=64, stacked_convs=2),
    test_cfg=dict(nms_pre=200, max_per_img=20))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),  # after Resize: boxes stay in image pixels
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]

# the full-size config's two trainval sets (VOC2007, VOC2012), read from the tiny data
train_dataloader = dict(
    _base_.tiny.loader,
    dataset=dict(  # RepeatDataset, times=3
        dataset=dict(  # ConcatDataset
            datasets=[
                dict(trainval, data_root=data_root, pipeline=train_pipeline)
                for trainval in _base_.train_dataloader.dataset.dataset.datasets
            ])))
val_dataloader = dict(
    _base_.tiny.loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# the real schedule's shape (one lr step at 3/4 of the epochs) over 12 epochs of 24 iterations
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[9], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
