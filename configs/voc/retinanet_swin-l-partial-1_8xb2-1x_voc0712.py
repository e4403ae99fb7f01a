# Pascal VOC 07+12, RetinaNet + Swin-L (IN-22K): Partial-1, the last block (stages.3.blocks.1)
# trains. No official VOC log for this method.
_base_ = ['../_base_/retinanet_swin-l_fpn_8xb2-1x_voc0712.py']

model = dict(backbone=dict(tuning=dict(type='Partial')))
