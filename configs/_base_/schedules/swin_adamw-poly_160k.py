# The paper's segmentation optimisation (docs/spec.md section 5), as mmseg's own Swin UperNet
# configs: AdamW lr 6e-5 wd 0.01 (full fine-tuning and baselines; Mona leaves set 3e-4), linear
# warmup over 1500 iterations from 1e-6 of the lr, then poly (power 1) to 0 at 160k iterations.
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']  # 160k iters, val + checkpoint every 16k

optim_wrapper = dict(
    _delete_=True,  # drop mmseg's SGD settings (momentum) instead of merging into them
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    # no weight decay on position tables and norms (adapters' norms included)
    paramwise_cfg=dict(
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.)
        }))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False)
]
# mmengine's CheckpointHook with atomic writes and old checkpoints removed only after the new one
# is complete (docs/reliability.md); mmseg's interval of 16k iterations is kept
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
