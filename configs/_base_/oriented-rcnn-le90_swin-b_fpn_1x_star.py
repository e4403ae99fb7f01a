# Oriented R-CNN (le90) + FPN on Swin-B (IN-22K), STAR (48 classes), 1x: the paper's STAR setting
# (docs/spec.md section 5, after STAR-MMRotate), shared by the leaves of configs/star/. It differs
# from the DOTA base only in the data and the learning rate (AdamW 1e-4 instead of 5e-5).
_base_ = ['./oriented-rcnn-le90_swin-b_fpn_1x_dota.py']

# STAR's DOTA-style layout: train/{images,annfiles}, test/{images,annfiles}
data_root = 'data/STAR/'
dataset_type = 'CheckedSTARDataset'  # STARDataset (48 classes, DOTA-style labels), bad lines named

model = dict(roi_head=dict(bbox_head=dict(num_classes=48)))

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train/annfiles/',
        data_prefix=dict(img_path='train/images/')))
# STAR's test split is labelled, so validation and test report its mAP directly
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='test/annfiles/',
        data_prefix=dict(img_path='test/images/')))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1e-4))
# validate every 6 epochs as STAR-MMRotate does (the test split is large); keep the last checkpoint
train_cfg = dict(val_interval=6)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
