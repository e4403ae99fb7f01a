# Swin-B (patch 4, window 7) with Microsoft's IN-22K weights, hosted by SwinMona: the backbone of
# the COCO, DOTA and STAR configs. A task base lists this file beside its host config and builds
# `model.backbone` as `dict(_base_.swin_b, ...)`, adding the task's drop-path and outputs; each
# leaf adds its `tuning`. mmengine refuses a key that two bases both set, so the block has a
# name of its own, `swin_b`: it shows in the merged config, and no builder reads it.
swin_b = dict(
    type='SwinMona',
    arch='base',  # embed 128, depths (2, 2, 18, 2), heads (4, 8, 16, 32), window 7
    # Microsoft's release file (a local path works too), converted on load
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window7_224_22k.pth'))  # noqa
