# Mask R-CNN + FPN on Swin-B (IN-22K), COCO 2017, 3x multi-scale: the paper's COCO recipe
# (docs/spec.md section 5) on the Mask R-CNN detector, for configs/mask_rcnn_swin_mona_coco.py,
# and the base of the Cascade Mask R-CNN one (the paper's exact setting).
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py',  # DETR-style aug, 36 epochs
    './models/swin-b_in22k.py',
]
# mona_mm registers SwinMona, DeltaTuningHook and RNGStateHook
custom_imports = dict(imports=['mona_mm'], allow_failed_imports=False)

data_root = 'data/coco/'  # COCO 2017: annotations/, train2017/, val2017/
pretrained = _base_.swin_b.init_cfg.checkpoint  # the weights' file, at the top as mmdet's configs

model = dict(
    backbone=dict(
        _base_.swin_b,
        _delete_=True,  # mmdet's Swin-T arguments are replaced, not merged
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3)),
    neck=dict(in_channels=[128, 256, 512, 1024]))  # Swin-B stage widths

# CheckedCocoDataset: mmdet's CocoDataset that names a malformed json and reports the annotations
# mmdet drops or ignores (mona_mm.det.coco)
train_dataloader = dict(dataset=dict(type='CheckedCocoDataset', data_root=data_root))
val_dataloader = dict(dataset=dict(type='CheckedCocoDataset', data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

# AdamW lr 1e-4 wd 0.05, no decay on absolute_pos_embed / relative_position_bias_table / norm
# (inherited); warmup 500 iterations as the paper; steps at epochs 27 and 33 of 36 (inherited).
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1)
]

# DeltaTuningHook checks before training that exactly the intended parameters train, logs the
# parameter table, and checks after training that no frozen weight moved; RNGStateHook makes
# --resume continue the same run; DivergenceHook stops the run at the first non-finite loss or
# gradient, before a checkpoint of it is written (docs/reliability.md). SafeCheckpointHook is
# mmengine's CheckpointHook with atomic writes, old checkpoints removed only after the new one is
# complete (--resume works after a kill at any moment) and a report of a checkpoint that does not
# fit when one is loaded.
custom_hooks = [
    dict(type='DeltaTuningHook'),
    dict(type='RNGStateHook'),
    dict(type='DivergenceHook'),
]
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
