# ADE20K, UperNet + Swin-L (IN-22K), 160k: Fixed, the backbone is frozen and only the neck and heads
# train. The paper's lower bound (about 46.8 mIoU). Baselines' recipe of the base: drop-path 0.3,
# AdamW lr 6e-5.
_base_ = ['../_base_/upernet_swin-l_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(tuning=dict(type='Fixed')))
