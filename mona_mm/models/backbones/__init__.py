from .swin_checkpoint import LoadReport, load_swin_pretrained
from .swin_mona import SwinMona, SwinMonaBlock

__all__ = ['LoadReport', 'load_swin_pretrained', 'SwinMona', 'SwinMonaBlock']
