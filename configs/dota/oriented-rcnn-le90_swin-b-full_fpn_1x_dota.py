# Full fine-tuning baseline of configs/dota/oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py: every
# backbone parameter trains; data, detector and optimisation are unchanged. Template of the
# method leaves: copy this file and change the `tuning` line.
_base_ = ['./oriented-rcnn-le90_swin-b-mona_fpn_1x_dota.py']

model = dict(backbone=dict(tuning=dict(_delete_=True, type='Full')))
