# The tiny base of the detection family (configs/tiny/mask-rcnn_{swin,vit}-mona_tiny-coco.py and
# retinanet_swin-mona_tiny-voc0712.py): the small Swin of swin.py, CPU data loading, and what the
# two tiny COCO configs share whatever their backbone: a narrow Mask R-CNN for a 64-channel
# pyramid, the generated set (data/tiny_coco, 3 classes, 128 px pipelines) and a 12-epoch
# schedule. The pieces are under `tiny` (see swin.py for why), written out: a plain key here would
# clash with the same key of the full-size bases (`max_epochs`, `data_root`).
_base_ = ['./swin.py']

tiny = dict(
    # 4 images a batch, read in the main process: the data is tiny, workers cost more than they save
    loader=dict(batch_size=4, num_workers=0, persistent_workers=False),
    coco=dict(
        # merged into mmdet's Mask R-CNN: heads for a 64-channel pyramid, fewer proposals
        mask_rcnn=dict(
            data_preprocessor=dict(pad_size_divisor=32),
            rpn_head=dict(in_channels=64, feat_channels=64),
            roi_head=dict(
                bbox_roi_extractor=dict(out_channels=64),
                bbox_head=dict(  # the generated set's 3 classes
                    in_channels=64, fc_out_channels=256, num_classes=3),
                mask_roi_extractor=dict(out_channels=64),
                mask_head=dict(
                    in_channels=64, conv_out_channels=64, num_classes=3)),
            train_cfg=dict(
                rpn_proposal=dict(nms_pre=500, max_per_img=200),
                rcnn=dict(sampler=dict(num=128))),
            test_cfg=dict(
                rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=20))),
        train_dataloader=dict(
            batch_size=4,
            num_workers=0,
            persistent_workers=False,
            dataset=dict(
                data_root='data/tiny_coco/',
                metainfo=dict(classes=('square', 'circle', 'triangle')),
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                    dict(type='Resize', scale=(128, 128), keep_ratio=True),
                    dict(type='RandomFlip', prob=0.5),
                    dict(type='PackDetInputs')
                ])),
        val_dataloader=dict(
            batch_size=4,
            num_workers=0,
            persistent_workers=False,
            dataset=dict(
                data_root='data/tiny_coco/',
                metainfo=dict(classes=('square', 'circle', 'triangle')),
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='Resize', scale=(128, 128), keep_ratio=True),
                    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                    dict(
                        type='PackDetInputs',
                        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                   'scale_factor'))
                ])),
        val_evaluator=dict(ann_file='data/tiny_coco/annotations/instances_val2017.json'),
        train_cfg=dict(max_epochs=12, val_interval=12),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
            dict(
                type='MultiStepLR',
                begin=0,
                end=12,
                by_epoch=True,
                milestones=[10],
                gamma=0.1)
        ],
        optim_wrapper=dict(optimizer=dict(lr=1e-3)),
        default_hooks=dict(
            logger=dict(interval=10),
            checkpoint=dict(interval=12, max_keep_ckpts=1))))
