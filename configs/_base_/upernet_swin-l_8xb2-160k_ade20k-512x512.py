# ADE20K (150 classes), UperNet + Swin-L IN-22K: the paper's segmentation recipe, shared by the
# leaves of configs/ade20k/ (one per tuning method). 512x512 crops, 160k iterations, batch 16
# (8 GPUs x 2), AdamW + warmup 1500 + poly; mIoU on the 2000 validation images, single scale
# (`tools/test.py --tta`: mmseg's multi-scale flip, ratios 0.5-1.75).
_base_ = [
    './models/upernet_swin-l.py',
    'mmseg::_base_/datasets/ade20k.py',  # pipelines (2048x512 scale), tta_pipeline, IoUMetric
    'mmseg::_base_/default_runtime.py',  # default_scope mmseg, tta_model
    './schedules/swin_adamw-poly_160k.py',
]

data_root = 'data/ade/ADEChallengeData2016/'  # images/{training,validation}, annotations/...
crop_size = (512, 512)
num_classes = 150

model = dict(
    data_preprocessor=dict(size=crop_size),  # pad training batches to the crop size
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))

# CheckedADE20KDataset: mmseg's ADE20KDataset whose errors name the file (mona_mm.datasets.checks)
train_dataloader = dict(
    batch_size=2,  # x 8 GPUs
    dataset=dict(type='CheckedADE20KDataset', data_root=data_root))
val_dataloader = dict(dataset=dict(type='CheckedADE20KDataset', data_root=data_root))
test_dataloader = val_dataloader
