# The small Swin of every configs/tiny/ config: 4 stages of 2 blocks, widths 32 to 256, window 4,
# Mona with bottleneck 16, and no pretrained weights (nothing is downloaded: the frozen backbone
# stays random, and Mona, neck and heads learn on top of it). Inherited by the three tiny family
# bases beside it (detection.py, segmentation.py, oriented.py).
#
# How the tiny configs share: each inherits its full-size base, for the same code path, and its
# family's tiny base. mmengine refuses a key that two bases both set, so a tiny base cannot set
# `model` or `train_cfg` itself; it keeps its pieces under a key of its own, `tiny`, and the tiny
# configs take them as `_base_.tiny.<piece>`. `tiny` shows in the merged config; nothing reads it.
tiny = dict(
    swin=dict(
        type='SwinMona',
        embed_dims=32,
        depths=(2, 2, 2, 2),
        num_heads=(1, 2, 4, 8),
        window_size=4,
        drop_path_rate=0.1,
        tuning=dict(type='Mona', bottleneck=16),
        init_cfg=None))

# The tiny configs run on the CPU on purpose (gloo, SyncBN as BN, AMP as fp32) when CUDA is not
# available; a config without this key stops there instead (mona_mm.runner.adapt_to_device). It is
# not set by the full-size configs, so it is a plain key.
allow_cpu = True
