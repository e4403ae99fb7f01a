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
* COCO json empty or malformed: ``JSONDecodeError: Expecting value: line 1 column 1 (char 0)``
  without the file's name; here the file, line and column are named. A COCO annotation mmdet
  drops or ignores without a word (a box under one pixel or outside its image, a zero area, an
  unknown category, a polygon under 3 points or of an odd length) is reported once with the file
  and annotation id; one that mmdet crashes on (no 4-number ``bbox``, no ``area``) is an error
  naming it, as is, in a val/test set, a polygon under 3 points, on which pycocotools fails after
  the whole inference pass (``mona_mm.det.coco``).
* a DOTA label line mmrotate cannot read: ``ValueError: could not convert string to float:
  'harbor'`` or ``IndexError``; here the file, line number and line (``mona_mm.rotate.checked``).

The subclasses change nothing else: same arguments, metainfo, pipelines and outputs. This module
holds what they share and imports no host library; the subclasses live with their host
(``mona_mm.seg.datasets``, ``mona_mm.det.datasets``, ``mona_mm.det.coco``,
``mona_mm.rotate.checked``) and are registered in its ``DATASETS`` registry when that package is
imported (``import mona_mm`` imports mona_mm.det and mona_mm.seg; the rotated configs import
mona_mm.rotate). Configs use them by type (``type='CheckedADE20KDataset'``).
"""
import math
import os
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Set, Tuple

from PIL import Image

#: the most pixels an image may declare before it is decoded (400 MP: the largest DOTA images,
#: 20000 x 20000; 1.1 GiB as 8-bit BGR); the environment variable MONA_MM_MAX_IMAGE_PIXELS
#: sets another limit
MAX_IMAGE_PIXELS = int(os.environ.get('MONA_MM_MAX_IMAGE_PIXELS', 400_000_000))


def check_image_file(path: str, role: str = 'image') -> None:
    """Refuse, before decoding, an image file that is empty or declares more pixels than
    :data:`MAX_IMAGE_PIXELS` (its header read; a format the header reader does not know is left
    to the decoder).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is empty, or too large (naming it, its size and the limit).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'The {role} {path} does not exist.')
    if osp.getsize(path) == 0:
        raise ValueError(f'The {role} {path} is empty (0 bytes): an interrupted copy or '
                         f'download? Replace it or remove it from the dataset.')
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # PIL refuses above 179 MP itself; the limit here is ours
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            with Image.open(path) as img:
                width, height = img.size
    except (OSError, ValueError, SyntaxError):
        return  # not a header PIL reads: the decoder will say
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(
            f'The {role} {path} declares {width} x {height} pixels ({width * height / 1e6:.0f} '
            f'MP), above the limit of {MAX_IMAGE_PIXELS / 1e6:.0f} MP (decoding it would take '
            f'{width * height * 3 / 2**30:.1f} GiB). Resize or split it (DOTA: mmrotate\'s split '
            f'tool), or set MONA_MM_MAX_IMAGE_PIXELS to a higher limit.')


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

    def prepare_data(self, idx: int):
        """The host's sample ``idx`` through the pipeline, after checking its image file (empty,
        or declaring more pixels than :data:`MAX_IMAGE_PIXELS`); a pipeline error that does not
        name the file (OpenCV's on an undecodable image) is raised again naming it.

        Raises:
            ValueError: the image is empty, too large, or the pipeline failed on it.
        """
        path = self.get_data_info(idx).get('img_path')
        if path and self.backend_args is None:
            check_image_file(path)
        try:
            data = super().prepare_data(idx)
        except Exception as e:  # the transforms raise many types (mmcv asserts)
            if not path or (isinstance(e, (ValueError, OSError)) and path in str(e)):
                raise
            raise ValueError(f'{type(self).__name__}: sample {idx} ({path}): '
                             f'{type(e).__name__}: {e}') from e
        self.check_prepared(data, idx)
        return data

    def check_prepared(self, data, idx: int) -> None:
        """A family's checks of a prepared sample (see :class:`ChecksSegPairs`)."""

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
    """Mixin for mmseg datasets: each sample's label map is checked when the sample is read, and
    a val/test set's label values all before testing (a value beyond the classes counts wrongly
    in the evaluation without a word)."""

    def load_data_list(self) -> List[dict]:
        """The host's sample list; in a val/test set (``test_mode``), every label map's values
        checked against the classes first (one decode per map).

        Raises:
            ValueError: a label map with values beyond the classes (naming it).
        """
        data_list = super().load_data_list()
        if self.test_mode and self.backend_args is None and not getattr(self, 'label_map', None):
            for info in data_list:
                if info.get('seg_map_path'):
                    self._check_label_values(info['seg_map_path'])
        return data_list

    def _allowed_file_values(self) -> Tuple[int, int, int]:
        """(lowest, highest, ignore) label values a file may hold."""
        num_classes = len(self.metainfo['classes'])
        ignore = getattr(self, 'ignore_index', 255)
        if self.reduce_zero_label:  # 0 is unlabelled, k is class k - 1
            return 0, num_classes, 255
        return 0, num_classes - 1, ignore

    def _check_label_values(self, path: str) -> None:
        import numpy as np
        low, high, ignore = self._allowed_file_values()
        with Image.open(path) as img:
            values = np.unique(np.asarray(img))
        bad = [int(v) for v in values if (v < low or v > high) and v != ignore]
        if bad:
            self._label_error(path, bad)

    def _label_error(self, path: str, file_values: List[int]) -> None:
        low, high, ignore = self._allowed_file_values()
        num_classes = len(self.metainfo['classes'])
        raise ValueError(
            f'{type(self).__name__}: the label map {path} has values {file_values[:10]} in the '
            f'file, beyond the dataset\'s {num_classes} classes (file values '
            f'{low + int(self.reduce_zero_label)}..{high}'
            f'{", 0 unlabelled (reduce_zero_label)" if self.reduce_zero_label else ""}, and '
            f'{ignore} ignored). Fix the labels, or set metainfo=dict(classes=...) to all '
            f'classes and num_classes in the heads to their number.')

    def get_data_info(self, idx: int) -> dict:
        """The host's sample ``idx``, after :func:`check_seg_pair` on its files."""
        info = super().get_data_info(idx)
        if self.backend_args is None:  # local files: read the headers
            check_seg_pair(info['img_path'], info.get('seg_map_path'))
        return info

    def check_prepared(self, data, idx: int) -> None:
        """The label values of a prepared sample are classes or the ignore index: a value
        beyond the classes fails in the loss (``IndexError: Target 199 is out of bounds``) in
        training and counts wrongly in the evaluation (aAcc 17.8 for 63.8).

        Raises:
            ValueError: naming the label map, the values and the classes.
        """
        samples = data.get('data_samples') if isinstance(data, dict) else None
        for sample in samples if isinstance(samples, (list, tuple)) else [samples]:
            seg = getattr(sample, 'gt_sem_seg', None)
            if seg is None:
                continue
            num_classes = len(self.metainfo['classes'])
            ignore = getattr(self, 'ignore_index', 255)
            values = [int(v) for v in seg.data.unique().tolist()]
            bad = [v for v in values if (v < 0 or v >= num_classes) and v != ignore]
            if bad:
                shift = 1 if self.reduce_zero_label else 0
                self._label_error(self.get_data_info(idx).get('seg_map_path'),
                                  [v + shift for v in bad])


# ------------------------------------------------------------------------------------ COCO
#: kinds of COCO annotation problems: mmdet crashes on it while loading; mmdet drops or ignores
#: it (a warning); pycocotools crashes on it in the segm evaluation (an error in val/test sets)
MALFORMED, DROPPED, BREAKS_EVAL = 'malformed', 'dropped', 'breaks evaluation'


def _number(value) -> bool:
    """A finite int or float (json reads NaN and Infinity as floats)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def coco_polygon_problems(segmentation) -> List[Tuple[str, str]]:
    """What is wrong with an annotation's ``segmentation`` (polygons or RLE), as
    ``(reason, kind)`` pairs.

    mmdet's ``LoadAnnotations`` keeps only polygons of at least 3 points and an even number of
    coordinates (an instance left with none trains on an empty mask); pycocotools reads a
    4-number polygon as a box and fails in ``frPyObjects`` during the segm evaluation.
    """
    if not segmentation:
        return []
    if isinstance(segmentation, dict):
        if 'counts' in segmentation and 'size' in segmentation:
            return []
        return [('RLE segmentation without "counts" and "size"', MALFORMED)]
    if not isinstance(segmentation, list):
        return [(f'segmentation is a {type(segmentation).__name__}, not polygons or RLE',
                 MALFORMED)]
    problems = []
    for polygon in segmentation:
        if not isinstance(polygon, list) or not all(_number(v) for v in polygon):
            problems.append(('a polygon is not a list of numbers', MALFORMED))
        elif len(polygon) < 6:
            problems.append((f'polygon of {len(polygon) // 2} point(s) (at least 3 are needed: '
                             f'mmdet trains on an empty mask, pycocotools fails in the segm '
                             f'evaluation)', BREAKS_EVAL))
        elif len(polygon) % 2:
            problems.append((f'polygon of {len(polygon)} coordinates, an odd number (mmdet '
                             f'drops it)', DROPPED))
        elif _polygon_area(polygon) < 1e-3:
            problems.append((f'polygon of {len(polygon) // 2} points enclosing no area (all on '
                             f'a line: its mask is empty)', DROPPED))
    return problems


def _polygon_area(polygon: Sequence[float]) -> float:
    """The shoelace area of a flat ``[x1, y1, x2, y2, ...]`` polygon."""
    xs, ys = polygon[0::2], polygon[1::2]
    return abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2


def coco_annotation_problems(ann: dict, width: float, height: float,
                             categories: Set[int]) -> List[Tuple[str, str]]:
    """What mmdet 3.3's ``CocoDataset.parse_data_info`` would crash on, drop or ignore in one
    annotation, as ``(reason, kind)`` pairs (kinds: :data:`MALFORMED`, :data:`DROPPED`,
    :data:`BREAKS_EVAL`). Annotations marked ``ignore`` are mmdet's to skip and are not
    checked; ``iscrowd`` annotations are COCO's ignore regions and are fine.

    Args:
        ann: One entry of the json's ``annotations``.
        width, height: Its image's size.
        categories: The category ids the json defines.
    """
    if ann.get('ignore', False):
        return []
    bbox = ann.get('bbox')
    if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4 and all(map(_number, bbox))):
        return [(f'bbox {bbox!r} is not [x, y, width, height] of finite numbers', MALFORMED)]
    missing = [k for k in ('area', 'category_id') if k not in ann]
    if missing:
        return [(f'no {" or ".join(missing)}', MALFORMED)]
    problems = []
    x, y, w, h = bbox
    if w < 1 or h < 1:
        problems.append((f'box {w:g} x {h:g} (a width or height under one pixel: mmdet drops '
                         f'it)', DROPPED))
    elif min(x + w, width) - max(x, 0) <= 0 or min(y + h, height) - max(y, 0) <= 0:
        problems.append((f'box {[round(v, 1) for v in bbox]} outside its {width}x{height} image '
                         f'(mmdet drops it)', DROPPED))
    if not _number(ann['area']) or ann['area'] <= 0:
        problems.append((f'area {ann["area"]!r} (mmdet drops it)', DROPPED))
    if ann['category_id'] not in categories:
        problems.append((f'category_id {ann["category_id"]!r} is not in the file\'s categories '
                         f'(mmdet drops it)', DROPPED))
    return problems + coco_polygon_problems(ann.get('segmentation'))


def coco_category_problems(classes: Sequence[str], categories: Sequence[str],
                           counts: dict, ann_file: str) -> Tuple[Optional[str], Optional[str]]:
    """Whether a COCO file's categories fit the dataset's classes (mmdet matches them by name).

    mmdet keeps only the annotations of categories named like one of the classes: a class that
    is no category of the file (misspelt, capitalised otherwise, another set) gets no instance,
    and when none is, ``filter_cfg`` removes every image and the error blames the filter.

    Args:
        classes: The dataset's classes (its ``metainfo``).
        categories: The names of the file's categories.
        counts: Annotations per category name.
        ann_file: The file, for the messages.

    Returns:
        ``(error, warning)``: the error when a class is no category of the file; the warning
        when categories with annotations are not among the classes (mmdet drops them).
    """
    import difflib
    error = warning = None
    missing = [c for c in classes if c not in categories]
    if missing:
        hints = []
        for name in missing[:5]:
            close = [c for c in categories if c.lower() == name.lower()] or \
                difflib.get_close_matches(name, categories, n=1, cutoff=0.75)
            if close:
                hints.append(f'{name!r} -> {close[0]!r}')
        error = (f'{len(missing)} of the dataset\'s {len(classes)} classes are not categories of '
                 f'{ann_file}: {", ".join(repr(c) for c in missing[:8])}'
                 f'{", ..." if len(missing) > 8 else ""} (the file\'s {len(categories)} '
                 f'categories: {", ".join(repr(c) for c in list(categories)[:12])}'
                 f'{", ..." if len(categories) > 12 else ""})'
                 f'{"; close names: " + ", ".join(hints) if hints else ""}. mmdet matches them '
                 f'by name, so these classes would get no instance. Set '
                 f'metainfo=dict(classes=(...)) on the dataset of every dataloader to the file\'s '
                 f'category names, and num_classes in the heads to their number '
                 f'(docs/own_data.md).')
    dropped = [(c, counts.get(c, 0)) for c in categories if c not in classes and counts.get(c)]
    if dropped:
        warning = (f'annotations of {len(dropped)} categories of {ann_file} are dropped (not '
                   f'among the dataset\'s classes): ' + ', '.join(
                       f'{c!r} ({n})' for c, n in dropped[:8]) + (', ...' if len(dropped) > 8
                                                               else ''))
    return error, warning


def format_annotation_problems(problems: List[Tuple], limit: int = 10) -> str:
    """``id A (image I): reason; ...`` for ``(ann_id, img_id, reason, kind)`` tuples."""
    shown = '; '.join(f'id {a} (image {i}): {r}' for a, i, r, _ in problems[:limit])
    return shown + (f'; ... and {len(problems) - limit} more' if len(problems) > limit else '')


def json_error_message(path: str, error: ValueError) -> str:
    """A JSON file that does not parse: its name, and where (line, column)."""
    if osp.isfile(path) and osp.getsize(path) == 0:
        return f'The annotation file {path} is empty (0 bytes).'
    where = (f' at line {error.lineno}, column {error.colno}: {error.msg}'
             if hasattr(error, 'lineno') else f': {error}')
    return f'The annotation file {path} is not valid JSON{where}.'


# ------------------------------------------------------------------------------------ DOTA
DOTA_LINE = 'x1 y1 x2 y2 x3 y3 x4 y4 class difficulty'


def dota_line_problem(line: str, classes: Sequence[str]) -> Optional[str]:
    """What mmrotate's ``DOTADataset`` cannot read in one label line (it splits on whitespace
    and reads 8 coordinates, a class of the dataset and an integer difficulty), or None."""
    fields = line.split()
    if len(fields) < 10:
        hint = (' (a header line of the DOTA download: the label files must first go through '
                'mmrotate\'s split tool, docs/oriented_detection.md)'
                if line.startswith(('imagesource', 'gsd')) else '')
        return f'{len(fields)} fields where 10 are needed ({DOTA_LINE}){hint}'
    for field in fields[:8]:
        try:
            value = float(field)
        except ValueError:
            return f'coordinate {field!r} is not a number ({DOTA_LINE})'
        if not math.isfinite(value):
            return f'coordinate {field!r} is not a finite number ({DOTA_LINE})'
    if fields[8] not in classes:
        return (f'class {fields[8]!r} is not one of the dataset\'s {len(classes)} classes '
                f'({", ".join(classes[:5])}{", ..." if len(classes) > 5 else ""})')
    try:
        int(fields[9])
    except ValueError:
        return f'difficulty {fields[9]!r} is not an integer ({DOTA_LINE})'
    return quad_problem([float(v) for v in fields[:8]])


def quad_problem(coords: Sequence[float]) -> Optional[str]:
    """What is wrong with a quadrilateral ``x1 y1 ... x4 y4`` as a rotated box's label: a
    coordinate that is not finite, or four points that enclose no area; else None."""
    if not all(math.isfinite(v) for v in coords):
        return f'a coordinate is not a finite number ({list(coords)})'
    if len(coords) != 8:  # another box type: only its finiteness is checked
        return None
    area = _polygon_area(coords)
    if area < 1e-3:
        return (f'the four points enclose no area ({area:g} square pixels): no rotated box can '
                f'be made of them')
    return None


def find_dota_problem(label_files: Sequence[str], classes: Sequence[str]) -> Optional[str]:
    """The first label line mmrotate cannot read, as ``'FILE:LINE: problem: 'text''``, or None."""
    for path in label_files:
        with open(path) as f:
            for number, line in enumerate(f, 1):
                problem = dota_line_problem(line, classes)
                if problem:
                    return f'{path}:{number}: {problem}: {line.rstrip()!r}'
    return None
