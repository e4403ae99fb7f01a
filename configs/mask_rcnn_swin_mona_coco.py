# Mask R-CNN + FPN with a frozen Swin-B (IN-22K) tuned by Mona on COCO 2017, 3x multi-scale: the
# paper's COCO recipe on the Mask R-CNN detector. The paper's exact setting, Cascade Mask R-CNN,
# is configs/coco/cascade-mask-rcnn_swin-b-mona_16xb1-3x_coco.py.
#   bash tools/dist_train.sh configs/mask_rcnn_swin_mona_coco.py 8
_base_ = ['./_base_/mask-rcnn_swin-b_fpn_ms-crop-3x_coco.py']

model = dict(backbone=dict(tuning=dict(type='Mona')))  # bottleneck 64; the rest is frozen
