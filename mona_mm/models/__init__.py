from .adapters import Mona, MonaOp
from .backbones import LoadReport, SwinMona, SwinMonaBlock, load_swin_pretrained

__all__ = ['LoadReport', 'Mona', 'MonaOp', 'SwinMona', 'SwinMonaBlock', 'load_swin_pretrained']
