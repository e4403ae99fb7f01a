# ISPRS Potsdam (6 classes, mmseg's converted 512x512 patches), UperNet + Swin-L IN-22K, shared by
# the leaves of configs/potsdam/. The paper's segmentation optimisation (AdamW + warmup 1500 +
# poly, batch 16) over mmseg's Potsdam schedule length (80k iterations); mIoU on the val patches.
_base_ = [
    './models/upernet_swin-l.py',
    'mmseg::_base_/datasets/potsdam.py',  # pipelines (512x512 scale), tta_pipeline, IoUMetric
    'mmseg::_base_/default_runtime.py',  # default_scope mmseg, tta_model
    './schedules/swin_adamw-poly_80k.py',
]

data_root = 'data/potsdam/'  # img_dir/{train,val}, ann_dir/{train,val} (docs/datasets.md)
crop_size = (512, 512)
num_classes = 6  # label 0 (eroded boundaries, black in the labels) is ignored: reduce_zero_label

model = dict(
    data_preprocessor=dict(size=crop_size),  # pad training batches to the crop size
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))

# CheckedPotsdamDataset: mmseg's PotsdamDataset whose errors name the file
train_dataloader = dict(
    batch_size=2,  # x 8 GPUs
    dataset=dict(type='CheckedPotsdamDataset', data_root=data_root))
val_dataloader = dict(dataset=dict(type='CheckedPotsdamDataset', data_root=data_root))
test_dataloader = val_dataloader
