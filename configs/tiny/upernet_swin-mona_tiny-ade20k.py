# A small Swin-Mona UperNet on the generated tiny ADE20K set (real ADEChallengeData2016 layout,
# labels 0-150 read with reduce_zero_label), trained and evaluated on a CPU in minutes. Same code
# path as configs/ade20k/ (whose base it inherits): CheckedADE20KDataset, UperNet with SyncBN heads
# (BN on a CPU, mona_mm.runner), IoUMetric mIoU, --tta multi-scale flip. No pretrained weights
# here: the frozen backbone is random, Mona + UperNet learn on top of it.
#   python tools/misc/make_tiny_data.py ade20k data/tiny_ade20k
#   python tools/train.py configs/tiny/upernet_swin-mona_tiny-ade20k.py
_base_ = [
    '../_base_/upernet_swin-l_8xb2-160k_ade20k-512x512.py',  # the full-size data and model
    '../_base_/tiny/segmentation.py',  # `tiny`: the small model, ADE20K loaders, schedule
]

crop_size = (64, 64)

model = dict(
    _base_.tiny.upernet,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(_base_.tiny.swin, _delete_=True))  # replaces Swin-L, not merged into it

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
