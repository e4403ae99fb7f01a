# Pascal VOC 07+12, RetinaNet + Swin-L (IN-22K): BitFit, backbone biases only (the relative position
# bias tables included, as the official code). No official VOC log for this method.
_base_ = ['../_base_/retinanet_swin-l_fpn_8xb2-1x_voc0712.py']

model = dict(backbone=dict(tuning=dict(type='BitFit')))
