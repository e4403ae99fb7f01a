# DOTA-v1.0, Oriented R-CNN le90 + Swin-B (IN-22K): AdaptFormer, one parallel bottleneck-64 adapter (scale 0.1) per block; data, detector and optimisation
# as configs/dota/oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py.
_base_ = ['./oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py']

model = dict(backbone=dict(tuning=dict(_delete_=True, type='AdaptFormer')))
