"""Datasets that fail naming the file: what the thin subclasses of mmseg's and mmdet's own dataset
classes share.

What the host libraries (mmseg 1.2.2, mmdet 3.3.0) report for a broken dataset, and what the
subclasses report instead:

* ``data_root`` missing: the missing image folder or ImageSets file is named; here the message
  says that ``data_root`` itself does not exist.
* image folder or ImageSets list empty, or no image with the dataset's suffix:
  ``ValueError: need at least one array to concatenate``; here the folder and suffix, or the
  list file, are named.
* VOC XML malformed (truncated, no ``bndbox``, a non-numeric coordinate):
  ``ParseError: no element found: line 1, column 18`` or ``AttributeError: 'NoneType' object
  has no attribute 'find'``; here the XML file is named.
* label PNG of another size than its image: training runs on silently warped labels (the
  resize and crop transforms treat image and label alike) and evaluation fails in ``IoUMetric``
  with an ``IndexError`` about mask shapes; here both files and both sizes are named when the
  sample is read.
* label PNG in colour (e.g. Potsdam's raw RGB labels, before mmseg's converter): loaded as a
  3-channel map, it fails in the decode head (``RuntimeError: stack expects each tensor to be
  equal size``); here the file and the converter are named.
* a missing image, label PNG or XML file: ``FileNotFoundError`` naming it, in both.

The subclasses change nothing else: same arguments, metainfo, pipelines and outputs. This module
holds what they share and imports no host library; the subclasses live with their host
(``mona_mm.seg.datasets``, ``mona_mm.det.datasets``) and are registered in its ``DATASETS``
registry when that package is imported (``import mona_mm`` imports both). Configs use them by type
(``type='CheckedADE20KDataset'``).
"""
import os.path as osp
from typing import List, Optional

from PIL import Image

#: PIL modes of single-channel label maps (class indices)
LABEL_MODES = ('1', 'L', 'P', 'I', 'I;16')


def image_size_and_mode(path: str, role: str) -> tuple:
    """Read the size and PIL mode of an image from its header (no decoding).

    Args:
        path: A local file path.
        role: What the file is (``'image'``, ``'label map'``), for the error message.

    Returns:
        tuple: ``((width, height), mode)``.

    Raises:
        FileNotFoundError: The file does not exist (the message names it).
        ValueError: The file is not a readable image (the message names it).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'The {role} {path} does not exist.')
    try:
        with Image.open(path) as img:
            return img.size, img.mode
    except OSError as e:
        raise ValueError(f'The {role} {path} is not a readable image: {e}') from e


def check_seg_pair(img_path: str, seg_map_path: Optional[str]) -> None:
    """Check that a label map is single-channel and the size of its image.

    Args:
        img_path: The image file.
        seg_map_path: Its label map (class-index PNG); None when the sample has none.

    Raises:
        FileNotFoundError: One of the files does not exist.
        ValueError: The label map is in colour, or its size differs from the image's.
    """
    img_size, _ = image_size_and_mode(img_path, 'image')
    if seg_map_path is None:
        return
    seg_size, mode = image_size_and_mode(seg_map_path, 'label map')
    if mode not in LABEL_MODES:
        raise ValueError(
            f'The label map {seg_map_path} has mode {mode!r}; label maps must be single-channel '
            f'class indices ({", ".join(LABEL_MODES)}). Colour-coded labels (ISPRS Potsdam, '
            f'LoveDA downloads) must first go through mmseg\'s tools/dataset_converters '
            f'(see docs/datasets.md).')
    if seg_size != img_size:
        raise ValueError(
            f'The label map {seg_map_path} is {seg_size[0]}x{seg_size[1]} (WxH) but its image '
            f'{img_path} is {img_size[0]}x{img_size[1]}; every label map must have the size of '
            f'its image.')


class NamesItsFiles:
    """Mixin for ``BaseDataset`` subclasses: a missing root or an empty sample list is named."""

    def _sample_source(self) -> str:
        """Where the samples are listed: the annotation file, or the image folder."""
        if self.ann_file and not osp.isdir(self.ann_file):
            return f'the list file {self.ann_file}'
        img_dir = self.data_prefix.get('img_path', '')
        suffix = getattr(self, 'img_suffix', '')
        return f'the folder {img_dir} (looking for "*{suffix}" files)'

    def load_data_list(self) -> List[dict]:
        """The host's sample list, after checking that ``data_root`` exists.

        Raises:
            FileNotFoundError: ``data_root`` does not exist, or no sample was found.
        """
        if self.data_root and not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'{type(self).__name__}: data_root {self.data_root} does not exist; set '
                f'data_root in the config to where the dataset is (see docs/datasets.md).')
        data_list = super().load_data_list()
        if not data_list:
            raise FileNotFoundError(
                f'{type(self).__name__}: no samples in {self._sample_source()}.')
        return data_list

    def filter_data(self) -> List[dict]:
        """The host's filtered sample list.

        Raises:
            ValueError: ``filter_cfg`` removed every sample.
        """
        kept = super().filter_data()
        if self.data_list and not kept:
            raise ValueError(
                f'{type(self).__name__}: filter_cfg={self.filter_cfg} removed all '
                f'{len(self.data_list)} samples of {self._sample_source()}.')
        return kept


class ChecksSegPairs(NamesItsFiles):
    """Mixin for mmseg datasets: each sample's label map is checked when the sample is read."""

    def get_data_info(self, idx: int) -> dict:
        """The host's sample ``idx``, after :func:`check_seg_pair` on its files."""
        info = super().get_data_info(idx)
        if self.backend_args is None:  # local files: read the headers
            check_seg_pair(info['img_path'], info.get('seg_map_path'))
        return info
