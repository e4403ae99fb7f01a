# DOTA-v1.0, Oriented R-CNN le90 + Swin-B (IN-22K), 1x: Mona (bottleneck 64; the rest of the
# backbone is frozen).
#   bash tools/dist_train.sh configs/dota/oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py 8
#   python tools/test.py configs/dota/oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py CKPT
_base_ = ['../_base_/oriented-rcnn-le90_swin-b_fpn_1x_dota.py']

model = dict(backbone=dict(tuning=dict(type='Mona')))
