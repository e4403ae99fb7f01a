# A small Swin-Mona UperNet on the generated tiny ISPRS Potsdam (mmseg's converted img_dir/ann_dir
# layout, labels 0-6 read with reduce_zero_label), trained and evaluated on a CPU in minutes. Same
# code path as configs/potsdam/ (which it inherits): CheckedPotsdamDataset, UperNet with SyncBN
# heads (BN on a CPU, mona_mm.runner), IoUMetric mIoU. No pretrained weights here: the frozen
# backbone is random.
#   python tools/misc/make_tiny_data.py potsdam data/tiny_potsdam
#   python tools/train.py configs/tiny/upernet_swin-mona_tiny-potsdam.py
_base_ = ['../potsdam/upernet_swin-l-mona_8xb2-80k_potsdam-512x512.py']

data_root = 'data/tiny_potsdam/'
crop_size = (64, 64)
train_scale = (64, 64)  # mmseg's (512, 512) / 8
test_scale = (64, 64)

# the model of configs/tiny/upernet_swin-mona_tiny-ade20k.py
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='SwinMona',
        embed_dims=32,
        depths=(2, 2, 2, 2),
        num_heads=(1, 2, 4, 8),
        window_size=4,
        drop_path_rate=0.1,
        tuning=dict(type='Mona', bottleneck=16),
        init_cfg=None),  # random frozen backbone: nothing can be downloaded here
    decode_head=dict(in_channels=[32, 64, 128, 256], channels=32),  # 512 channels in the real one
    auxiliary_head=dict(in_channels=128, channels=16))

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
# num_workers=0: the data is tiny and worker processes cost more than they save
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 200
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=20, end=max_iters, by_epoch=False)
]
optim_wrapper = dict(optimizer=dict(lr=5e-3))  # a random backbone and heads from scratch learn fast
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
