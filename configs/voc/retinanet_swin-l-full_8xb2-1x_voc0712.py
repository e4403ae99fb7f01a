# Pascal VOC 07+12, RetinaNet + Swin-L (IN-22K), full fine-tuning (the patch embedding stays
# frozen: frozen_stages=1). A leaf for another baseline (BitFit, NormTuning, Partial, Adapter,
# LoRA, AdaptFormer, LoRand) is a copy of this file with its own `tuning`.
_base_ = ['../_base_/retinanet_swin-l_fpn_8xb2-1x_voc0712.py']

model = dict(backbone=dict(tuning=dict(type='Full')))
