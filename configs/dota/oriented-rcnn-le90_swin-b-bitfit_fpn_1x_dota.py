# DOTA-v1.0, Oriented R-CNN le90 + Swin-B (IN-22K): BitFit, backbone biases only (bias tables included, as the official code); data, detector and optimisation
# as configs/dota/oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py.
_base_ = ['./oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py']

model = dict(backbone=dict(tuning=dict(_delete_=True, type='BitFit')))
