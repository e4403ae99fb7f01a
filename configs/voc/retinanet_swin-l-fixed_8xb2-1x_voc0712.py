# Pascal VOC 07+12, RetinaNet + Swin-L (IN-22K): Fixed, the backbone is frozen and only the neck and
# heads train. The paper's lower bound.
_base_ = ['../_base_/retinanet_swin-l_fpn_8xb2-1x_voc0712.py']

model = dict(backbone=dict(tuning=dict(type='Fixed')))
