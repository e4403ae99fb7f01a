from .pretrained import LoadReport
from .swin_mona import SwinMona, SwinMonaBlock
from .tunable import DeltaTunedBackbone, SlotBlock
from .vit_mona import ViTMona, ViTMonaBlock

__all__ = [
    'DeltaTunedBackbone', 'LoadReport', 'SlotBlock', 'SwinMona', 'SwinMonaBlock', 'ViTMona',
    'ViTMonaBlock'
]
