# The tiny base of the segmentation family (configs/tiny/upernet_swin-mona_tiny-{ade20k,potsdam,
# loveda}.py, upernet_vit-mona_tiny-ade20k.py): the small Swin of swin.py under a narrow UperNet,
# CPU data loading, a 200-iteration schedule, and the tiny ADE20K loaders that the Swin and ViT
# configs share. The pieces are under `tiny` (see swin.py for why); `max_iters` is not set by the
# full-size configs, so it is a plain key.
_base_ = ['./swin.py']

max_iters = 200
tiny = dict(
    # UperNet's widths for the small Swin's outputs (512 channels in the real one)
    upernet=dict(
        decode_head=dict(in_channels=[32, 64, 128, 256], channels=32),
        auxiliary_head=dict(in_channels=128, channels=16)),
    # num_workers=0: the data is tiny and worker processes cost more than they save
    loader=dict(num_workers=0, persistent_workers=False),
    train_cfg=dict(max_iters=max_iters, val_interval=max_iters),
    param_scheduler=[
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
        dict(type='PolyLR', eta_min=0.0, power=1.0, begin=20, end=max_iters, by_epoch=False)
    ],
    # a random backbone and heads from scratch learn fast
    optim_wrapper=dict(optimizer=dict(lr=5e-3)),
    default_hooks=dict(
        logger=dict(interval=10), checkpoint=dict(interval=max_iters, max_keep_ckpts=1)),
    # the generated ADE20K (128 px images, labels 0-150 read with reduce_zero_label): 64 px crops
    # of images resized within mmseg's (2048, 512) / 8
    ade20k=dict(
        train_dataloader=dict(
            batch_size=4,
            num_workers=0,
            persistent_workers=False,
            dataset=dict(
                data_root='data/tiny_ade20k/',
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations', reduce_zero_label=True),
                    dict(
                        type='RandomResize',
                        scale=(256, 64),
                        ratio_range=(0.5, 2.0),
                        keep_ratio=True),
                    dict(type='RandomCrop', crop_size=(64, 64), cat_max_ratio=0.75),
                    dict(type='RandomFlip', prob=0.5),
                    dict(type='PhotoMetricDistortion'),
                    dict(type='PackSegInputs')
                ])),
        val_dataloader=dict(
            num_workers=0,
            persistent_workers=False,
            dataset=dict(
                data_root='data/tiny_ade20k/',
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='Resize', scale=(256, 64), keep_ratio=True),
                    # after Resize: mIoU at full size
                    dict(type='LoadAnnotations', reduce_zero_label=True),
                    dict(type='PackSegInputs')
                ]))))
