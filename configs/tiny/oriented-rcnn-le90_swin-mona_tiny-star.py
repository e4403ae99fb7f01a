# The tiny Swin-Mona Oriented R-CNN on the generated tiny STAR set: the STAR config's data path
# (STARDataset, all 48 classes, train/ and labelled test/) with a small model and 128 px images;
# no pretrained weights. The generator draws 3 of the 48 classes; mAP averages over classes
# that have ground truth, as DOTAMetric does.
#   python tools/misc/make_tiny_data.py star data/tiny_star
#   python tools/train.py configs/tiny/oriented-rcnn-le90_swin-mona_tiny-star.py
_base_ = [
    '../_base_/oriented-rcnn-le90_swin-b_fpn_1x_star.py',  # the full-size data and model
    '../_base_/tiny/oriented.py',  # `tiny`: the small Swin, 128 px pipelines, CPU schedule
]

data_root = 'data/tiny_star/'
pretrained = None  # no pretrained weights here (the base's URL is not used)

model = dict(
    backbone=dict(_base_.tiny.swin, _delete_=True),  # replaces Swin-B, not merged into it
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256)),  # 48 classes (inherited)
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=50)))

train_pipeline = _base_.tiny.train_pipeline
val_pipeline = _base_.tiny.val_pipeline
train_dataloader = dict(
    _base_.tiny.loader,
    dataset=dict(data_root=data_root, img_shape=_base_.image_size, pipeline=train_pipeline))
val_dataloader = dict(
    _base_.tiny.loader,
    dataset=dict(data_root=data_root, img_shape=_base_.image_size, pipeline=val_pipeline))
test_dataloader = val_dataloader

train_cfg = _base_.tiny.train_cfg
param_scheduler = _base_.tiny.param_scheduler
optim_wrapper = _base_.tiny.optim_wrapper
default_hooks = _base_.tiny.default_hooks
