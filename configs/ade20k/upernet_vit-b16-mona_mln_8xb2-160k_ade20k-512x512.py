# ADE20K, UperNet + ViT-B/16 (timm IN-21k weights), 160k: Mona (bottleneck 64) in every block, the
# rest of the backbone frozen; the class token passes Mona's convolution by (docs/design.md). As
# the paper's Swin segmentation recipe, Mona trains with 5x the full fine-tuning lr.
#   bash tools/dist_train.sh configs/ade20k/upernet_vit-b16-mona_mln_8xb2-160k_ade20k-512x512.py 8
_base_ = ['../_base_/upernet_vit-b16_mln_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(tuning=dict(type='Mona')))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
