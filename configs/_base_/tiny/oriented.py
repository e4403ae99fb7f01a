# The tiny base of the oriented-detection family (configs/tiny/*-tiny-dota.py, *-tiny-star.py):
# the small Swin of swin.py, mmrotate's DOTA pipelines at 128 px, CPU data loading and a
# 12-epoch schedule. The pieces are under `tiny` (see swin.py for why); `image_size` and
# `max_epochs` are not set by the full-size configs, so they are plain keys.
_base_ = ['./swin.py']

image_size = (128, 128)
max_epochs = 12
tiny = dict(
    train_pipeline=[
        dict(type='mmdet.LoadImageFromFile'),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
        dict(type='mmdet.Resize', scale=image_size, keep_ratio=True),
        dict(
            type='mmdet.RandomFlip',
            prob=0.75,
            direction=['horizontal', 'vertical', 'diagonal']),
        dict(type='mmdet.PackDetInputs')
    ],
    val_pipeline=[
        dict(type='mmdet.LoadImageFromFile'),
        dict(type='mmdet.Resize', scale=image_size, keep_ratio=True),
        # after Resize, so that the labels stay in original-image coordinates
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
        dict(
            type='mmdet.PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
    ],
    # num_workers=0: the data is tiny and worker processes cost more than they save
    loader=dict(batch_size=4, num_workers=0, persistent_workers=False),
    train_cfg=dict(max_epochs=max_epochs, val_interval=max_epochs),
    param_scheduler=[
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
        dict(
            type='MultiStepLR',
            begin=0,
            end=max_epochs,
            by_epoch=True,
            milestones=[10],
            gamma=0.1)
    ],
    # from scratch with a small batch: larger than the full-size 5e-5 (DOTA) and 1e-4 (STAR)
    optim_wrapper=dict(optimizer=dict(lr=1e-3)),
    default_hooks=dict(
        logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1)))
