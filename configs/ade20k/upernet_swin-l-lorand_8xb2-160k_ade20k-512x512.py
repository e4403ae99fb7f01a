# ADE20K, UperNet + Swin-L (IN-22K), 160k: LoRand, two multi-branch low-rank adapters per block.
# Published mIoU (paper figure): 50.75 (Mona 51.36, Full 51.18). Baselines' recipe of the base:
# drop-path 0.3, AdamW lr 6e-5.
_base_ = ['../_base_/upernet_swin-l_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(tuning=dict(type='LoRand')))
