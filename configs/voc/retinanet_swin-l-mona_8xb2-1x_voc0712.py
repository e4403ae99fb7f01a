# Pascal VOC 07+12, RetinaNet + Swin-L (IN-22K): Mona (bottleneck 64; the rest of the backbone is
# frozen). The paper's setting (official log: 87.30 VOC07 mAP).
#   bash tools/dist_train.sh configs/voc/retinanet_swin-l-mona_8xb2-1x_voc0712.py 8
#   python tools/test.py configs/voc/retinanet_swin-l-mona_8xb2-1x_voc0712.py CKPT
_base_ = ['../_base_/retinanet_swin-l_fpn_8xb2-1x_voc0712.py']

model = dict(backbone=dict(tuning=dict(type='Mona')))
