# ISPRS Potsdam, UperNet + Swin-L (IN-22K), 80k: Mona (bottleneck 64; the rest of the backbone is
# frozen). The paper's Mona settings for segmentation (drop-path 0.2, 5x the full fine-tuning lr)
# over 80k iterations.
#   bash tools/dist_train.sh configs/potsdam/upernet_swin-l-mona_8xb2-80k_potsdam-512x512.py 8
_base_ = ['../_base_/upernet_swin-l_8xb2-80k_potsdam-512x512.py']

model = dict(backbone=dict(drop_path_rate=0.2, tuning=dict(type='Mona')))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
