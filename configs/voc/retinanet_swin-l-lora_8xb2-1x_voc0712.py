# Pascal VOC 07+12, RetinaNet + Swin-L (IN-22K): LoRA, r=64 and alpha=1 on Q and V of every qkv
# projection. Official VOC log: 85.42 mAP (Mona 87.30).
_base_ = ['../_base_/retinanet_swin-l_fpn_8xb2-1x_voc0712.py']

model = dict(backbone=dict(tuning=dict(type='LoRA')))
