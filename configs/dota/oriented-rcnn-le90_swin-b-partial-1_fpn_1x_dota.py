# DOTA-v1.0, Oriented R-CNN le90 + Swin-B (IN-22K), 1x: Partial-1, the last block
# (stages.3.blocks.1) trains.
_base_ = ['../_base_/oriented-rcnn-le90_swin-b_fpn_1x_dota.py']

model = dict(backbone=dict(tuning=dict(type='Partial')))
