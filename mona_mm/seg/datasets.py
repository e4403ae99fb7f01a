"""mmseg's dataset classes whose errors name the bad file (``mona_mm.datasets.checks``)."""
from mmseg.datasets import ADE20KDataset, BaseSegDataset, LoveDADataset, PotsdamDataset
from mmseg.registry import DATASETS

from mona_mm.datasets.checks import ChecksSegPairs


@DATASETS.register_module()
class CheckedADE20KDataset(ChecksSegPairs, ADE20KDataset):
    """mmseg's ``ADE20KDataset`` whose errors name the file (see the module docstring)."""


@DATASETS.register_module()
class CheckedPotsdamDataset(ChecksSegPairs, PotsdamDataset):
    """mmseg's ``PotsdamDataset`` whose errors name the file (see the module docstring)."""


@DATASETS.register_module()
class CheckedLoveDADataset(ChecksSegPairs, LoveDADataset):
    """mmseg's ``LoveDADataset`` whose errors name the file (see the module docstring)."""


@DATASETS.register_module()
class CheckedBaseSegDataset(ChecksSegPairs, BaseSegDataset):
    """mmseg's ``BaseSegDataset`` (any classes: one's own set) whose errors name the file."""
