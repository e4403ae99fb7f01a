"""mmdet's dataset classes whose errors name the bad file (``mona_mm.datasets.checks``)."""
import xml.etree.ElementTree as ET

from mmdet.datasets import VOCDataset
from mmdet.registry import DATASETS

from mona_mm.datasets.checks import NamesItsFiles


@DATASETS.register_module()
class CheckedVOCDataset(NamesItsFiles, VOCDataset):
    """mmdet's ``VOCDataset`` whose errors name the file (see the module docstring)."""

    def parse_data_info(self, img_info: dict) -> dict:
        """mmdet's parsing of one XML file; its errors are re-raised naming the file.

        Raises:
            ValueError: The XML file is not well-formed or lacks a field the VOC schema needs.
        """
        try:
            return super().parse_data_info(img_info)
        except ET.ParseError as e:
            raise ValueError(f'The VOC annotation {img_info["xml_path"]} is not well-formed '
                             f'XML: {e}') from e
        except (AttributeError, TypeError, ValueError) as e:
            # mmdet reads size/width/height and object/name/difficult/bndbox/{x,y}{min,max}
            raise ValueError(f'The VOC annotation {img_info["xml_path"]} lacks a field or has a '
                             f'non-numeric value where the VOC schema needs one '
                             f'(size/width, size/height, object/name, object/bndbox/xmin ...): '
                             f'{type(e).__name__}: {e}') from e
