"""mmdet's ``CocoDataset`` with the checks of ``mona_mm.datasets.checks``: an annotation file
that does not parse is named with the line and column, and every annotation that mmdet would
drop or ignore without a word is reported once, with the file and its id.

* empty or malformed json: pycocotools raises ``JSONDecodeError: Expecting value: line 1
  column 1 (char 0)`` without the file's name; here the file, line and column are named.
* an annotation mmdet crashes on while loading (no ``bbox`` of four numbers, no ``area``):
  the file and annotation id are named instead of ``ValueError: not enough values to unpack``.
* an annotation mmdet drops (a box under one pixel or outside its image, a zero area, a category
  the file does not define) or whose polygon it cannot use (fewer than 3 points, an odd number of
  coordinates): one warning listing them, when the dataset is built.
* a class of the dataset that is no category of the file (misspelt, capitalised otherwise):
  mmdet gives it no instance, and with none left, ``filter_cfg`` removes every image and the
  error blames the filter; here it is an error naming the classes, the file's categories and
  close names. Categories with annotations that are not among the classes: one warning.
* a polygon of fewer than 3 points in a val/test set (``test_mode``): pycocotools reads a
  4-number polygon as a box and fails in the segm evaluation, after the whole inference pass;
  here it is an error when the dataset is built.
"""
import json
import logging
from collections import Counter
from typing import List

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from mona_mm.datasets.checks import (
    BREAKS_EVAL,
    DROPPED,
    MALFORMED,
    NamesItsFiles,
    coco_annotation_problems,
    coco_category_problems,
    format_annotation_problems,
    json_error_message,
)


@DATASETS.register_module()
class CheckedCocoDataset(NamesItsFiles, CocoDataset):
    """mmdet's ``CocoDataset`` whose problems name the file and annotation (module docstring)."""

    def load_data_list(self) -> List[dict]:
        """mmdet's sample list, after checking the json and every annotation.

        Raises:
            ValueError: the json is empty or malformed, an annotation is malformed, or (in a
                val/test set) a polygon would break the evaluation.
        """
        self._problems = []
        self._categories_checked = False
        self._raw_annotations = 0
        try:
            data_list = super().load_data_list()
        except json.JSONDecodeError as e:
            raise ValueError(json_error_message(self.ann_file, e)) from None
        except AssertionError as e:  # pycocotools: the top level is not an object
            raise ValueError(f'The annotation file {self.ann_file} is not COCO json (an object '
                             f'with "images", "annotations" and "categories"): {e}') from None
        kept = sum(not inst.get('ignore_flag', 0) for d in data_list
                   for inst in d.get('instances', []))
        dropped = any(p[3] == DROPPED for p in self._problems)
        if dropped and not self.test_mode and self._raw_annotations and not kept:
            raise ValueError(
                f'{type(self).__name__}: every annotation of {self.ann_file} is one mmdet drops '
                f'or ignores ({format_annotation_problems(self._problems)}): the model would '
                f'train on no object. Fix the boxes (COCO\'s bbox is [x, y, width, height] in '
                f'pixels).')
        fatal = [p for p in self._problems if p[3] == BREAKS_EVAL and self.test_mode]
        if fatal:
            raise ValueError(
                f'{type(self).__name__}: {len(fatal)} annotations of {self.ann_file} would make '
                f'the COCO evaluation fail after the whole inference pass: '
                f'{format_annotation_problems(fatal)}. Fix or remove them.')
        if self._problems:
            print_log(f'{type(self).__name__}: {len(self._problems)} annotation problems in '
                      f'{self.ann_file} (mmdet drops or ignores these annotations): '
                      f'{format_annotation_problems(self._problems)}', logger='current',
                      level=logging.WARNING)
        return data_list

    def _check_categories(self) -> None:
        """The file's categories against the dataset's classes (``coco_category_problems``),
        once, while mmdet's loading holds the file (it drops ``self.coco`` when done).

        Raises:
            ValueError: a class that is no category of the file.
        """
        self._categories_checked = True
        images = Counter(img.get('id') for img in self.coco.dataset.get('images', []))
        repeated = sorted((i for i, n in images.items() if n > 1), key=str)
        if repeated:  # pycocotools keeps the last entry: boxes of one image land on another
            raise ValueError(f'{type(self).__name__}: image ids {repeated[:10]} appear more than '
                             f'once in the "images" of {self.ann_file} (pycocotools keeps one '
                             f'entry per id, so their annotations would be drawn on the wrong '
                             f'image). Give every image its own id.')
        names = [cat['name'] for cat in self.coco.cats.values()]
        by_id = {cat_id: cat['name'] for cat_id, cat in self.coco.cats.items()}
        counts = Counter(by_id.get(ann.get('category_id')) for ann in self.coco.anns.values())
        error, warning = coco_category_problems(self.metainfo['classes'], names, counts,
                                                self.ann_file)
        if error:
            raise ValueError(f'{type(self).__name__}: {error}')
        if warning:
            print_log(f'{type(self).__name__}: {warning}', logger='current',
                      level=logging.WARNING)

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """mmdet's parsing of one image's annotations, after checking them.

        Raises:
            ValueError: an image entry without its size or file name, or an annotation mmdet
                would crash on (naming the file and annotation id).
        """
        if not self._categories_checked:
            self._check_categories()
        img = raw_data_info['raw_img_info']
        missing = [k for k in ('file_name', 'width', 'height') if k not in img]
        if missing:
            raise ValueError(f'{type(self).__name__}: image {img.get("img_id")} of '
                             f'{self.ann_file} has no {", ".join(missing)}.')
        categories = set(self.coco.cats)
        self._raw_annotations += len(raw_data_info['raw_ann_info'])
        for ann in raw_data_info['raw_ann_info']:
            for reason, kind in coco_annotation_problems(ann, img['width'], img['height'],
                                                         categories):
                problem = (ann.get('id'), img['img_id'], reason, kind)
                if kind == MALFORMED:
                    raise ValueError(f'{type(self).__name__}: annotation {problem[0]} (image '
                                     f'{problem[1]}) of {self.ann_file}: {reason}.')
                self._problems.append(problem)
        return super().parse_data_info(raw_data_info)
