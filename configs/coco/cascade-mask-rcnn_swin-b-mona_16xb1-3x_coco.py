# COCO 2017, Cascade Mask R-CNN + Swin-B (IN-22K), 3x: Mona (bottleneck 64; the rest of the backbone
# is frozen). The paper's setting. Published box AP: 53.4 (Full 52.4).
#   bash tools/dist_train.sh configs/coco/cascade-mask-rcnn_swin-b-mona_16xb1-3x_coco.py 16
_base_ = ['../_base_/cascade-mask-rcnn_swin-b_fpn_16xb1-3x_coco.py']

model = dict(backbone=dict(tuning=dict(type='Mona')))
