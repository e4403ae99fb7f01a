# Pascal VOC 07+12, RetinaNet + Swin-L (IN-22K): full fine-tuning, every backbone parameter but the
# patch embedding trains (frozen_stages=0, as for every method). No official VOC log for this
# method.
_base_ = ['../_base_/retinanet_swin-l_fpn_8xb2-1x_voc0712.py']

model = dict(backbone=dict(tuning=dict(type='Full')))
