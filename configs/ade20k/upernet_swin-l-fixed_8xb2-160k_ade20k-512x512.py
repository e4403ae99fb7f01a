# ADE20K, UperNet + Swin-L (IN-22K), frozen backbone: only UperNet trains (the paper's lower
# bound, about 46.8 mIoU). Baselines' recipe: drop-path 0.3, AdamW lr 6e-5.
_base_ = ['../_base_/upernet_swin-l_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(tuning=dict(type='Fixed')))
