# COCO 2017, Cascade Mask R-CNN + Swin-B (IN-22K), 3x: Partial-1, the last block (stages.3.blocks.1)
# trains. Published box AP (paper figure): 50.6 (Mona 53.4, Full 52.4).
_base_ = ['../_base_/cascade-mask-rcnn_swin-b_fpn_16xb1-3x_coco.py']

model = dict(backbone=dict(tuning=dict(type='Partial')))
