# A small Swin-Mona rotated RetinaNet on the generated tiny DOTA set (CPU, minutes): the
# one-stage detector of configs/dota/ with a small model and 128 px images; no pretrained weights.
#   python tools/misc/make_tiny_data.py dota data/tiny_dota
#   python tools/train.py configs/tiny/rotated-retinanet-rbox-le90_swin-mona_tiny-dota.py
_base_ = [
    '../_base_/rotated-retinanet-rbox-le90_swin-b_fpn_1x_dota.py',  # the full-size data and model
    '../_base_/tiny/oriented.py',  # `tiny`: the small Swin, 128 px pipelines, CPU schedule
]

data_root = 'data/tiny_dota/'
pretrained = None  # no pretrained weights here (the base's URL is not used)
# the generator's DOTA-v1.0 classes (mona_mm.testing.DOTA_DEFAULT_CLASSES)
classes = ('large-vehicle', 'ship', 'harbor')

model = dict(
    backbone=dict(_base_.tiny.swin, _delete_=True, out_indices=(1, 2, 3)),  # replaces Swin-B
    neck=dict(in_channels=[64, 128, 256], out_channels=64),
    bbox_head=dict(
        num_classes=len(classes),
        in_channels=64,
        feat_channels=64,
        stacked_convs=2),
    test_cfg=dict(nms_pre=500, max_per_img=50))

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

train_cfg = _base_.tiny.train_cfg
param_scheduler = _base_.tiny.param_scheduler
optim_wrapper = _base_.tiny.optim_wrapper
default_hooks = _base_.tiny.default_hooks
