# COCO 2017, Mask R-CNN + ViT-B/16 (MAE) with the simple feature pyramid, 3x: Mona (bottleneck 64)
# in every block, the rest of the backbone frozen; the class token passes Mona's convolution by
# (docs/design.md).
#   bash tools/dist_train.sh configs/coco/mask-rcnn_vit-b16-mona_sfp_ms-crop-3x_coco.py 8
_base_ = ['../_base_/mask-rcnn_vit-b16_sfp_ms-crop-3x_coco.py']

model = dict(backbone=dict(tuning=dict(type='Mona')))
