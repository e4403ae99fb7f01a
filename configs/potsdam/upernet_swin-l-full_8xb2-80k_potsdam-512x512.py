# ISPRS Potsdam, UperNet + Swin-L (IN-22K), 80k: full fine-tuning, every backbone parameter trains.
# Baselines' recipe of the base: drop-path 0.3, AdamW lr 6e-5.
_base_ = ['../_base_/upernet_swin-l_8xb2-80k_potsdam-512x512.py']

model = dict(backbone=dict(tuning=dict(type='Full')))
