# Rotated RetinaNet (rbox, le90) + FPN with a frozen Swin-B (IN-22K) tuned by Mona on DOTA-v1.0,
# 1x: the one-stage variant of configs/dota/oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py, with
# the same backbone, data and optimisation (MONA_SPEC.md section 5: AdamW lr 5e-5 wd 0.05).
#   bash tools/dist_train.sh configs/dota/rotated-retinanet-rbox-le90_swin-b-mona_fpn_1x_dota.py 8
_base_ = ['mmrotate::rotated_retinanet/rotated-retinanet-rbox-le90_r50_fpn_1x_dota.py']
custom_imports = dict(imports=['mona_mm'], allow_failed_imports=False)

# mmrotate's split tool output: trainval/{images,annfiles}, test/images
data_root = 'data/split_ss_dota/'
# Microsoft's IN-22K Swin-B release file (a local path works too); converted on load.
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window7_224_22k.pth'  # noqa

model = dict(
    backbone=dict(
        _delete_=True,  # mmrotate's ResNet-50 arguments do not apply
        type='SwinMona',
        arch='base',  # embed 128, depths (2, 2, 18, 2), heads (4, 8, 16, 32), window 7
        drop_path_rate=0.3,
        out_indices=(1, 2, 3),  # strides 8, 16, 32, as mmdet's RetinaNet Swin configs
        tuning=dict(type='Mona'),  # bottleneck 64; everything else in the backbone is frozen
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    # the three Swin-B outputs become P3-P5; P6 and P7 come from extra convs on C5 ('on_input')
    neck=dict(in_channels=[256, 512, 1024], start_level=0, num_outs=5))

train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
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

custom_hooks = [dict(type='DeltaTuningHook')]
