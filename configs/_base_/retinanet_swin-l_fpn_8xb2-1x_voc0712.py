# Pascal VOC 07+12, RetinaNet + FPN on Swin-L (IN-22K): the paper's VOC recipe (docs/spec.md
# section 5), shared by the leaves of configs/voc/ (one per tuning method). mmdet's own VOC
# RetinaNet config gives the dataset (07+12 trainval, RepeatDataset x3, 1000x600), the schedule
# (4 epochs = 12 effective, lr step at epoch 3, no warmup, as the official run) and the metric
# (VOC07 11-point mAP at IoU 0.5 on VOC2007 test). The official run used fp16: add `--amp`.
_base_ = ['mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py', './models/swin-l_in22k.py']
# mona_mm registers SwinMona, DeltaTuningHook and the CheckedVOCDataset type
custom_imports = dict(imports=['mona_mm'], allow_failed_imports=False)

data_root = 'data/VOCdevkit/'  # holds VOC2007/ and VOC2012/ (docs/datasets.md)
pretrained = _base_.swin_l.init_cfg.checkpoint  # the weights' file, at the top as mmdet's configs

model = dict(
    backbone=dict(
        _base_.swin_l,
        _delete_=True,  # mmdet's ResNet arguments are replaced, not merged
        drop_path_rate=0.2,  # every method, Mona and baselines alike
        out_indices=(1, 2, 3),  # strides 8, 16, 32
        frozen_stages=0),  # the patch embedding (mmdet's meaning; the official code's 1)
    neck=dict(
        in_channels=[384, 768, 1536],
        start_level=0,  # all three Swin outputs feed FPN
        add_extra_convs='on_input',  # P6, P7 from the last Swin output: strides 64, 128
        num_outs=5))  # 20 classes: inherited from mmdet's VOC config

# CheckedVOCDataset: mmdet's VOCDataset whose errors name the file (mona_mm.datasets.checks).
# The list of the two trainval sets is replaced as a whole, as in mmdet's VOC config.
train_dataloader = dict(
    dataset=dict(  # RepeatDataset, times=3
        dataset=dict(  # ConcatDataset
            datasets=[
                dict(
                    type='CheckedVOCDataset',
                    data_root=data_root,
                    ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
                    data_prefix=dict(sub_data_root=f'VOC{year}/'),
                    # images below 32 px and boxes below 32 px (ignored) as mmdet's
                    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
                    pipeline={{_base_.train_pipeline}}) for year in (2007, 2012)
            ])))
val_dataloader = dict(dataset=dict(type='CheckedVOCDataset', data_root=data_root))
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(
        _delete_=True,  # drop mmdet's SGD settings (momentum) instead of merging into them
        type='AdamW',
        lr=1e-4,
        betas=(0.9, 0.999),
        weight_decay=0.05),
    # no weight decay on position tables and norms (adapters' norms included)
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
