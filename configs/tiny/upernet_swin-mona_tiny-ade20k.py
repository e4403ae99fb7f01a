# A small Swin-Mona UperNet on the generated tiny ADE20K set (real ADEChallengeData2016 layout,
# labels 0-150 read with reduce_zero_label), trained and evaluated on a CPU in minutes. Same code
# path as configs/ade20k/ (which it inherits): CheckedADE20KDataset, UperNet with SyncBN heads
# (BN on a CPU, mona_mm.runner), IoUMetric mIoU, --tta multi-scale flip. No pretrained weights
# here: the frozen backbone is random, Mona + UperNet learn on top of it.
#   python tools/misc/make_tiny_data.py ade20k data/tiny_ade20k
#   python tools/train.py configs/tiny/upernet_swin-mona_tiny-ade20k.py
_base_ = ['../ade20k/upernet_swin-l-mona_8xb2-160k_ade20k-512x512.py']

data_root = 'data/tiny_ade20k/'
crop_size = (64, 64)
scale = (256, 64)  # mmseg's (2048, 512) / 8, for 128 px images

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
    dict(type='RandomResize', scale=scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
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
