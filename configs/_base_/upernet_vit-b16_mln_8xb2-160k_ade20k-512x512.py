# ADE20K (150 classes), UperNet + ViT-B/16 with mmseg's multi-level neck: mmseg's own ViT recipe
# (vit_vit-b16_mln_upernet: 512x512 crops, 160k iterations, batch 16 = 8 GPUs x 2, AdamW lr 6e-5
# wd 0.01 without decay on pos_embed / cls_token / norms, warmup 1500 + poly), its backbone
# replaced by ViTMona on the same timm ImageNet-21k weights mmseg's recipe starts from. Shared by
# the leaves of configs/ade20k/upernet_vit-b16-*.py (one per tuning method).
_base_ = ['mmseg::vit/vit_vit-b16_mln_upernet_8xb2-160k_ade20k-512x512.py']
# mona_mm registers ViTMona, DeltaTuningHook and the Checked*Dataset types
custom_imports = dict(imports=['mona_mm'], allow_failed_imports=False)

data_root = 'data/ade/ADEChallengeData2016/'  # images/{training,validation}, annotations/...
# timm's ViT-B/16 (ImageNet-21k, fine-tuned on 1k at 224), the file mmseg's recipe converts with
# vit2mmseg; ViTMona reads it as it is (a local path works too)
pretrained = 'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-vitjx/jx_vit_base_p16_224-80ecf9dd.pth'  # noqa

model = dict(
    pretrained=None,  # mmseg's recipe names a local file here; ViTMona loads its init_cfg
    backbone=dict(
        _delete_=True,  # mmseg's VisionTransformer arguments are replaced, not merged
        type='ViTMona',
        arch='base',  # 768 channels, 12 blocks, 12 heads
        patch_size=16,
        img_size=(512, 512),  # the pretrained 14 x 14 positions are resized to 32 x 32 on load
        out_indices=(2, 5, 8, 11),  # as mmseg's recipe, into its MultiLevelNeck
        drop_path_rate=0.0,  # mmseg's ViT recipe (its DeiT variant: 0.1)
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))

# CheckedADE20KDataset: mmseg's ADE20KDataset whose errors name the file (mona_mm.datasets.checks)
train_dataloader = dict(dataset=dict(type='CheckedADE20KDataset', data_root=data_root))
val_dataloader = dict(dataset=dict(type='CheckedADE20KDataset', data_root=data_root))
test_dataloader = val_dataloader

# the hooks of every config (as the Swin bases): DeltaTuningHook checks before training that
# exactly the intended parameters train, logs the parameter table, and checks after training that
# no frozen weight moved; RNGStateHook makes --resume continue the same run; DivergenceHook stops
# the run at the first non-finite loss or gradient, before a checkpoint of it is written;
# SafeCheckpointHook writes checkpoints atomically and removes old ones only after the new one is
# complete (docs/reliability.md)
custom_hooks = [
    dict(type='DeltaTuningHook'),
    dict(type='RNGStateHook'),
    dict(type='DivergenceHook'),
]
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
