# COCO 2017, Mask R-CNN + ViT-B/16 (MAE) with the simple feature pyramid, 3x: full fine-tuning,
# every backbone parameter trains.
#   bash tools/dist_train.sh configs/coco/mask-rcnn_vit-b16-full_sfp_ms-crop-3x_coco.py 8
_base_ = ['../_base_/mask-rcnn_vit-b16_sfp_ms-crop-3x_coco.py']

model = dict(backbone=dict(tuning=dict(type='Full')))
