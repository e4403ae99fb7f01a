# ADE20K, UperNet + Swin-L (IN-22K), full fine-tuning: the paper's reference (published 51.18
# mIoU). The base holds the baselines' recipe (drop-path 0.3, AdamW lr 6e-5), so a leaf for
# another baseline (BitFit, NormTuning, Partial, Adapter, LoRA, AdaptFormer, LoRand) is a copy of
# this file with its own `tuning` (and the method's name in the file name).
_base_ = ['../_base_/upernet_swin-l_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(tuning=dict(type='Full')))
