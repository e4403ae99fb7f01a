# The tiny base of the detection family (configs/tiny/mask-rcnn_swin-mona_tiny-coco.py and
# retinanet_swin-mona_tiny-voc0712.py): the small Swin of swin.py and CPU data loading. Each tiny
# config keeps its own schedule (the two follow their full-size schedules' shapes). The pieces
# are under `tiny` (see swin.py for why).
_base_ = ['./swin.py']

tiny = dict(
    # 4 images a batch, read in the main process: the data is tiny, workers cost more than they save
    loader=dict(batch_size=4, num_workers=0, persistent_workers=False))
