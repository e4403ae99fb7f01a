# ADE20K, UperNet + ViT-B/16 (timm IN-21k weights), 160k: full fine-tuning, every backbone
# parameter trains; mmseg's own ViT recipe (AdamW lr 6e-5) with ViTMona as its backbone.
#   bash tools/dist_train.sh configs/ade20k/upernet_vit-b16-full_mln_8xb2-160k_ade20k-512x512.py 8
_base_ = ['../_base_/upernet_vit-b16_mln_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(tuning=dict(type='Full')))
