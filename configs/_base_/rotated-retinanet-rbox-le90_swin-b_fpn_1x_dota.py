# Rotated RetinaNet (rbox, le90) + FPN on Swin-B (IN-22K), DOTA-v1.0, 1x: the one-stage variant of
# the Oriented R-CNN base, with the same backbone, data and optimisation (docs/spec.md section 5:
# AdamW lr 5e-5 wd 0.05), for the rotated RetinaNet leaves of configs/dota/.
_base_ = [
    'mmrotate::rotated_retinanet/rotated-retinanet-rbox-le90_r50_fpn_1x_dota.py',
    './models/swin-b_in22k.py',
]
# mona_mm.rotate makes mmrotate run on this stack (its shims) and registers STARDataset; its
# parent package mona_mm registers SwinMona and DeltaTuningHook
custom_imports = dict(imports=['mona_mm.rotate'], allow_failed_imports=False)

# mmrotate's split tool output: trainval/{images,annfiles}, test/images
data_root = 'data/split_ss_dota/'
pretrained = _base_.swin_b.init_cfg.checkpoint  # the weights' file, at the top as mmdet's configs

model = dict(
    backbone=dict(
        _base_.swin_b,
        _delete_=True,  # mmrotate's ResNet-50 arguments do not apply
        drop_path_rate=0.3,
        out_indices=(1, 2, 3)),  # strides 8, 16, 32, as mmdet's RetinaNet Swin configs
    # the three Swin-B outputs become P3-P5; P6 and P7 come from extra convs on C5 ('on_input')
    neck=dict(in_channels=[256, 512, 1024], start_level=0, num_outs=5))

# CheckedDOTADataset: mmrotate's DOTADataset whose label errors name the file and line
train_dataloader = dict(dataset=dict(type='CheckedDOTADataset', data_root=data_root))
val_dataloader = dict(dataset=dict(type='CheckedDOTADataset', data_root=data_root))
test_dataloader = val_dataloader

# AdamW replaces mmrotate's SGD; no weight decay on the position tables and norms (as mmdet's
# Swin configs). Clipping and the 1x schedule (warmup 500 iterations, steps 8/11) are inherited.
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=5e-5, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.)
        }))

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
