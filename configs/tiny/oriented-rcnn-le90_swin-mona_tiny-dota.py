# A small Swin-Mona Oriented R-CNN on the generated tiny DOTA set, trained and evaluated on a CPU
# in a few minutes. Same code path as configs/dota/ (mmrotate DOTADataset on split-tool layout,
# qbox -> rbox, oriented RPN, rotated RoIAlign, rotated NMS, DOTAMetric mAP); only the model and
# the images are small. No pretrained weights: the frozen backbone is random.
#   python tools/misc/make_tiny_data.py dota data/tiny_dota
#   python tools/train.py configs/tiny/oriented-rcnn-le90_swin-mona_tiny-dota.py
_base_ = [
    '../_base_/oriented-rcnn-le90_swin-b_fpn_1x_dota.py',  # the full-size data and model
    '../_base_/tiny/oriented.py',  # `tiny`: the small Swin, 128 px pipelines, CPU schedule
]

data_root = 'data/tiny_dota/'
pretrained = None  # no pretrained weights here (the base's URL is not used)
# the generator's DOTA-v1.0 classes (mona_mm.testing.DOTA_DEFAULT_CLASSES)
classes = ('large-vehicle', 'ship', 'harbor')

model = dict(
    backbone=dict(_base_.tiny.swin, _delete_=True),  # replaces Swin-B, not merged into it
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=len(classes))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=50)))

train_pipeline = _base_.tiny.train_pipeline
val_pipeline = _base_.tiny.val_pipeline
train_dataloader = dict(
    _base_.tiny.loader,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        img_shape=_base_.image_size,  # recorded as each patch's height and width
        pipeline=train_pipeline))
# evaluation on the held-out val/ split (the generator makes it disjoint from trainval/)
val_dataloader = dict(
    _base_.tiny.loader,
    dataset=dict(
        data_root=data_root,
        ann_file='val/annfiles/',
        data_prefix=dict(img_path='val/images/'),
        metainfo=dict(classes=classes),
        img_shape=_base_.image_size,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
# unlabelled patches (the DOTA test-server route of docs/oriented_detection.md)
test_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=_base_.image_size, keep_ratio=True),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]

train_cfg = _base_.tiny.train_cfg
param_scheduler = _base_.tiny.param_scheduler
optim_wrapper = _base_.tiny.optim_wrapper
default_hooks = _base_.tiny.default_hooks
