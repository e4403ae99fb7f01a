# DOTA-v1.0, Oriented R-CNN le90 + Swin-B (IN-22K), 1x: full fine-tuning, every backbone parameter
# trains.
_base_ = ['../_base_/oriented-rcnn-le90_swin-b_fpn_1x_dota.py']

model = dict(backbone=dict(tuning=dict(type='Full')))
