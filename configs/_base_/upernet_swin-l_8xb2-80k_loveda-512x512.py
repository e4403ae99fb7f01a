# LoveDA (7 classes), UperNet + Swin-L IN-22K, shared by the leaves of configs/loveda/. The
# paper's segmentation optimisation (AdamW + warmup 1500 + poly, batch 16) over mmseg's LoveDA
# schedule length (80k iterations); mIoU on the validation set (the test set has no labels).
_base_ = [
    './models/upernet_swin-l.py',
    'mmseg::_base_/datasets/loveda.py',  # pipelines (test at 1024x1024), tta_pipeline, IoUMetric
    'mmseg::_base_/default_runtime.py',  # default_scope mmseg, tta_model
    './schedules/swin_adamw-poly_80k.py',
]

data_root = 'data/loveDA/'  # img_dir/{train,val}, ann_dir/{train,val} (docs/datasets.md)
crop_size = (512, 512)
num_classes = 7  # label 0 (no-data) is ignored: reduce_zero_label

model = dict(
    data_preprocessor=dict(size=crop_size),  # pad training batches to the crop size
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))

# CheckedLoveDADataset: mmseg's LoveDADataset whose errors name the file
train_dataloader = dict(
    batch_size=2,  # x 8 GPUs
    dataset=dict(type='CheckedLoveDADataset', data_root=data_root))
val_dataloader = dict(dataset=dict(type='CheckedLoveDADataset', data_root=data_root))
test_dataloader = val_dataloader
