# Mask R-CNN + FPN with a frozen Swin-B (IN-22K) tuned by Mona on COCO 2017, 3x multi-scale.
# The paper's COCO recipe (MONA_SPEC.md section 5) on the Mask R-CNN detector; the paper's exact
# setting, Cascade Mask R-CNN, is configs/coco/cascade-mask-rcnn_swin-b-mona_16xb1-3x_coco.py.
#   bash tools/dist_train.sh configs/mask_rcnn_swin_mona_coco.py 8
_base_ = ['mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py']  # DETR-style aug, 36 ep
custom_imports = dict(imports=['mona_mm'], allow_failed_imports=False)

data_root = 'data/coco/'  # COCO 2017: annotations/, train2017/, val2017/
# Microsoft's IN-22K Swin-B release file (a local path works too); converted on load.
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window7_224_22k.pth'  # noqa

model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinMona',
        arch='base',  # embed 128, depths (2, 2, 18, 2), heads (4, 8, 16, 32)
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        tuning=dict(type='Mona'),  # bottleneck 64; everything else in the backbone is frozen
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))

train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

# AdamW lr 1e-4 wd 0.05, no decay on absolute_pos_embed / relative_position_bias_table / norm
# (inherited); warmup 500 iterations as the paper; steps at epochs 27 and 33 of 36 (inherited).
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1)
]

# checks before training that exactly the adapters train, logs the parameter table, and checks
# after training that no frozen weight moved; RNGStateHook makes --resume continue the same run
custom_hooks = [dict(type='DeltaTuningHook'), dict(type='RNGStateHook')]
