# Pascal VOC 07+12, RetinaNet + Swin-L (IN-22K): AdaptFormer, one parallel bottleneck-64 adapter
# (scale 0.1) per block. Official VOC log: 86.57 mAP (Mona 87.30).
_base_ = ['../_base_/retinanet_swin-l_fpn_8xb2-1x_voc0712.py']

model = dict(backbone=dict(tuning=dict(type='AdaptFormer')))
