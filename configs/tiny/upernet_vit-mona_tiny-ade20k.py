# A small ViT-Mona UperNet on the generated tiny ADE20K set, trained and evaluated on a CPU in
# minutes. Same code path as configs/ade20k/upernet_vit-b16-* (whose base it inherits): ViTMona with
# its class token, mmseg's MultiLevelNeck and UPerHead, CheckedADE20KDataset, IoUMetric mIoU. No
# pretrained weights here: the frozen backbone is random, Mona + neck + heads learn on top of it.
#   python tools/misc/make_tiny_data.py ade20k data/tiny_ade20k
#   python tools/train.py configs/tiny/upernet_vit-mona_tiny-ade20k.py
_base_ = [
    '../_base_/upernet_vit-b16_mln_8xb2-160k_ade20k-512x512.py',  # the full-size data and model
    '../_base_/tiny/segmentation.py',  # `tiny`: the tiny ADE20K loaders and schedule
]

crop_size = (64, 64)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(  # merged into ViT-B: 4 blocks of 64 channels, patch 8 (8 x 8 tokens a crop)
        embed_dims=64,
        num_layers=4,
        num_heads=2,
        patch_size=8,
        img_size=crop_size,
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        tuning=dict(type='Mona', bottleneck=16),
        init_cfg=None),
    neck=dict(in_channels=[64] * 4, out_channels=64),
    decode_head=dict(in_channels=[64] * 4, channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))

# the tiny set, its pipelines and the 200-iteration schedule
data_root = 'data/tiny_ade20k/'
pretrained = None  # no pretrained weights here (the base's URL is not used)
train_pipeline = _base_.tiny.ade20k.train_dataloader.dataset.pipeline
test_pipeline = _base_.tiny.ade20k.val_dataloader.dataset.pipeline
train_dataloader = _base_.tiny.ade20k.train_dataloader
val_dataloader = _base_.tiny.ade20k.val_dataloader
test_dataloader = val_dataloader

train_cfg = _base_.tiny.train_cfg
param_scheduler = _base_.tiny.param_scheduler
optim_wrapper = _base_.tiny.optim_wrapper
default_hooks = _base_.tiny.default_hooks
