# UperNet on Swin-L (IN-22K), the paper's segmentation model (docs/spec.md section 5), for the
# ADE20K, Potsdam and LoveDA bases. The backbone's drop-path 0.3 is the baselines'; the Mona
# leaves set 0.2. Which backbone parameters train is each leaf's `tuning`.
_base_ = [
    'mmseg::_base_/models/upernet_swin.py',  # UPerHead + FCN aux head, SyncBN heads
    './swin-l_in22k.py',
]
# mona_mm registers SwinMona, DeltaTuningHook and the Checked*Dataset types
custom_imports = dict(imports=['mona_mm'], allow_failed_imports=False)

pretrained = _base_.swin_l.init_cfg.checkpoint  # the weights' file, at the top as mmseg's configs
model = dict(
    backbone=dict(
        _base_.swin_l,
        _delete_=True,  # mmseg's SwinTransformer arguments are replaced, not merged
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3)),
    decode_head=dict(in_channels=[192, 384, 768, 1536]),
    auxiliary_head=dict(in_channels=768))  # stage 2 output

# DeltaTuningHook checks before training that exactly the intended parameters train, logs the
# parameter table, and checks after training that no frozen weight moved; RNGStateHook makes
# --resume continue the same run; DivergenceHook stops the run at the first non-finite loss or
# gradient, before a checkpoint of it is written (docs/reliability.md). The checkpoint hook
# (SafeCheckpointHook) is set by the schedules, where mmseg sets default_hooks.
custom_hooks = [
    dict(type='DeltaTuningHook'),
    dict(type='RNGStateHook'),
    dict(type='DivergenceHook'),
]
