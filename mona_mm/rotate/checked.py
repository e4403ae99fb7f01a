"""mmrotate's DOTA-style datasets whose label errors name the file and line.

mmrotate 1.0.0rc1's ``DOTADataset`` reads every line of every label file as ``x1 y1 x2 y2 x3 y3
x4 y4 class difficulty``; a line it cannot read stops the run with ``ValueError: could not convert
string to float: 'harbor'``, ``IndexError: list index out of range`` or ``KeyError: 'plane'``,
naming neither the file nor the line. Here, when that happens, the label files are read again and
the first bad line is named (``FILE:LINE: problem: 'text'``); good files cost nothing extra.
Lines mmrotate reads but cannot train on are named the same way: a coordinate that is not finite
(``nan``: a segmentation fault later) and four points that enclose no area (a diverging loss).
``CheckedSTARDataset`` is ``STARDataset`` (48 classes) with the same check.
"""
import glob
import os.path as osp
from typing import List

from mmrotate.datasets import DOTADataset
from mmrotate.registry import DATASETS

from mona_mm.datasets.checks import find_dota_problem, quad_problem

from .star import STARDataset, dota_kwargs


class NamesBadLabelLines:
    """Mixin for ``DOTADataset`` subclasses: a label line mmrotate cannot read is named.

    ``img_shape`` is passed on where the installed ``DOTADataset`` takes it
    (:func:`~mona_mm.rotate.star.dota_kwargs`).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **dota_kwargs(kwargs))

    def load_data_list(self) -> List[dict]:
        """mmrotate's sample list; its errors on a bad label line name the file and line.

        Raises:
            ValueError: a label line that is not ``x1 y1 ... x4 y4 class difficulty`` with a class
                of the dataset (naming the file, the line number and the line).
        """
        try:
            data_list = super().load_data_list()
        except (ValueError, IndexError, KeyError) as e:
            problem = self._find_problem()
            if problem is None:
                raise
            raise ValueError(f'{type(self).__name__}: {problem}') from e
        # lines mmrotate reads but cannot train on: a NaN coordinate (a segmentation fault
        # later), four points without area (a diverging loss)
        if any(quad_problem(inst['bbox']) for info in data_list
               for inst in info.get('instances', [])):
            problem = self._find_problem()
            if problem is not None:
                raise ValueError(f'{type(self).__name__}: {problem}')
        return data_list

    def _find_problem(self):
        files = sorted(glob.glob(osp.join(self.ann_file, '*.txt'))) if self.ann_file else []
        return find_dota_problem(files, self.metainfo['classes'])


@DATASETS.register_module()
class CheckedDOTADataset(NamesBadLabelLines, DOTADataset):
    """mmrotate's ``DOTADataset`` whose label errors name the file and line."""


@DATASETS.register_module()
class CheckedSTARDataset(NamesBadLabelLines, STARDataset):
    """:class:`~mona_mm.rotate.star.STARDataset` whose label errors name the file and line."""
