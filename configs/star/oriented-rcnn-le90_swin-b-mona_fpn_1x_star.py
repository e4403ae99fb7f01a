# STAR (48 classes), Oriented R-CNN le90 + Swin-B (IN-22K), 1x: Mona (bottleneck 64; the rest of the
# backbone is frozen).
#   bash tools/dist_train.sh configs/star/oriented-rcnn-le90_swin-b-mona_fpn_1x_star.py 8
#   python tools/test.py configs/star/oriented-rcnn-le90_swin-b-mona_fpn_1x_star.py CKPT
_base_ = ['../_base_/oriented-rcnn-le90_swin-b_fpn_1x_star.py']

model = dict(backbone=dict(tuning=dict(type='Mona')))
