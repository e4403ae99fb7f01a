# A small Swin-Mona UperNet on the generated tiny ISPRS Potsdam (mmseg's converted img_dir/ann_dir
# layout, labels 0-6 read with reduce_zero_label), trained and evaluated on a CPU in minutes. Same
# code path as configs/potsdam/ (whose base it inherits): CheckedPotsdamDataset, UperNet with SyncBN
# heads (BN on a CPU, mona_mm.runner), IoUMetric mIoU. No pretrained weights here: the frozen
# backbone is random.
#   python tools/misc/make_tiny_data.py potsdam data/tiny_potsdam
#   python tools/train.py configs/tiny/upernet_swin-mona_tiny-potsdam.py
_base_ = [
    '../_base_/upernet_swin-l_8xb2-80k_potsdam-512x512.py',  # the full-size data and model
    '../_base_/tiny/segmentation.py',  # `tiny`: the small model, loading and schedule
]

data_root = 'data/tiny_potsdam/'
pretrained = None  # no pretrained weights here (the base's URL is not used)
crop_size = (64, 64)
train_scale = (64, 64)  # mmseg's (512, 512) / 8
test_scale = (64, 64)

model = dict(
    _base_.tiny.upernet,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(_base_.tiny.swin, _delete_=True))  # replaces Swin-L, not merged into it

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=train_scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=test_scale, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),  # after Resize: mIoU at full size
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    _base_.tiny.loader, batch_size=4, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(_base_.tiny.loader, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = _base_.tiny.train_cfg
param_scheduler = _base_.tiny.param_scheduler
optim_wrapper = _base_.tiny.optim_wrapper
default_hooks = _base_.tiny.default_hooks
