"""Whole-model checkpoints: adapter-only deltas, conversion of official checkpoints, strict
loading, and files written atomically and found again after a crash."""
from .delta import (
    base_weights_state,
    complete_delta,
    delta_record,
    frozen_backbone_keys,
    is_delta,
    load_delta,
    make_delta,
    strip_to_delta,
)
from .files import CheckpointFileError, find_resume_checkpoint, refuse_same_file, save_atomic
from .official import check_official_mona, convert_official_mona
from .strict import MERGED_KEY, CheckpointMismatchError, check_fits, state_dict_mismatch

__all__ = ['MERGED_KEY', 'CheckpointFileError', 'CheckpointMismatchError', 'base_weights_state',
           'check_fits', 'complete_delta', 'delta_record', 'strip_to_delta',
           'check_official_mona', 'convert_official_mona', 'find_resume_checkpoint',
           'frozen_backbone_keys', 'is_delta', 'load_delta', 'make_delta', 'refuse_same_file',
           'save_atomic', 'state_dict_mismatch']
