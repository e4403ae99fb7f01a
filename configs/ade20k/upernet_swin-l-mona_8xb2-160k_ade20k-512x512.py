# ADE20K, UperNet + Swin-L (IN-22K), 160k: Mona (bottleneck 64; the rest of the backbone is frozen).
# The paper's setting (published 51.36 mIoU, full fine-tuning 51.18): Mona trains with drop-path 0.2
# and 5x the full fine-tuning lr.
#   bash tools/dist_train.sh configs/ade20k/upernet_swin-l-mona_8xb2-160k_ade20k-512x512.py 8
#   python tools/test.py configs/ade20k/upernet_swin-l-mona_8xb2-160k_ade20k-512x512.py CKPT [--tta]
_base_ = ['../_base_/upernet_swin-l_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(drop_path_rate=0.2, tuning=dict(type='Mona')))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
