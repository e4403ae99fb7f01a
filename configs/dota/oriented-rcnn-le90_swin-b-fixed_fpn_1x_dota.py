# Fixed baseline of configs/dota/oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py: the whole backbone
# stays frozen; only FPN and heads train.
_base_ = ['./oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py']

model = dict(backbone=dict(tuning=dict(_delete_=True, type='Fixed')))
