# UperNet with a Swin-L (IN-22K, window 7) backbone hosted by SwinMona, as the paper's
# segmentation runs (MONA_SPEC.md section 5). Which backbone parameters train is the leaf's
# `tuning`; this file holds the baselines' drop-path 0.3 (the Mona leaves use 0.2).
_base_ = ['mmseg::_base_/models/upernet_swin.py']  # UPerHead + FCN aux head, SyncBN heads
# mona_mm registers SwinMona, DeltaTuningHook and the Checked*Dataset types
custom_imports = dict(imports=['mona_mm'], allow_failed_imports=False)

# Microsoft's IN-22K Swin-L release file (a local path works too); converted on load
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_large_patch4_window7_224_22k.pth'  # noqa

model = dict(
    backbone=dict(
        _delete_=True,  # mmseg's SwinTransformer arguments are replaced, not merged
        type='SwinMona',
        arch='large',  # embed 192, depths (2, 2, 18, 2), heads (6, 12, 24, 48), window 7
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        tuning=dict(type='Full'),  # every leaf names its own method
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[192, 384, 768, 1536]),
    auxiliary_head=dict(in_channels=768))  # stage 2 output

# checks before training that exactly the intended parameters train, logs the parameter table,
# and checks after training that no frozen weight moved
custom_hooks = [dict(type='DeltaTuningHook')]
