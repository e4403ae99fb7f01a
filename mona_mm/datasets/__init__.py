"""What the dataset types of every host share (no host library is imported here): file checks
whose errors name the bad file. The types themselves live with their host: ``mona_mm.det``,
``mona_mm.seg``, ``mona_mm.rotate``. Generated tiny sets are in the opt-in ``mona_mm.testing``.
"""
from .checks import ChecksSegPairs, NamesItsFiles, check_seg_pair, image_size_and_mode

__all__ = ['ChecksSegPairs', 'NamesItsFiles', 'check_seg_pair', 'image_size_and_mode']
