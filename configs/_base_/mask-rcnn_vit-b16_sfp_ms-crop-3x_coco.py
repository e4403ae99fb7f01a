# Mask R-CNN on a plain ViT-B/16 (MAE weights) with ViTDet's simple feature pyramid built from the
# last map (Li et al., ECCV 2022), COCO 2017: the COCO recipe of the Swin-B base it inherits (data
# and its checks, DETR-style multi-scale and crop augmentation, 3x AdamW lr 1e-4 wd 0.05, warm-up,
# hooks) with the backbone and the neck replaced. Global attention in every block (ViTDet windows
# most of them); `with_cp=True` trades compute for memory on large images. The merged config keeps
# the base's `swin_b` helper block, which nothing builds.
_base_ = ['./mask-rcnn_swin-b_fpn_ms-crop-3x_coco.py']

# MAE's pre-trained ViT-B/16 encoder ({'model': ...}, timm keys), as ViTDet starts from
pretrained = 'https://dl.fbaipublicfiles.com/mae/pretrain/mae_pretrain_vit_base.pth'

model = dict(
    backbone=dict(
        _delete_=True,  # the Swin-B arguments are replaced, not merged
        type='ViTMona',
        arch='base',  # 768 channels, 12 blocks, 12 heads
        patch_size=16,
        img_size=224,  # the pretrained 14 x 14 positions, interpolated to each image's grid
        out_indices=(11, ),  # the last map (stride 16) feeds the pyramid
        drop_path_rate=0.1,  # ViTDet's ViT-B
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(
        _delete_=True,
        type='SimpleFeaturePyramid',  # mona_mm.det.necks: strides 4, 8, 16, 32, + 64 by pooling
        in_channels=768,
        out_channels=256,
        scales=(4, 2, 1, 0.5),
        num_outs=5))

# no weight decay on the position embeddings and the class token either (the base's keys are
# Swin's tables and the norms)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'pos_embed': dict(decay_mult=0.),
    'cls_token': dict(decay_mult=0.)}))
