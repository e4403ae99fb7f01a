from .pretrained import LoadReport
from .swin_mona import SwinMona, SwinMonaBlock
from .tunable import DeltaTunedBackbone, SlotBlock

__all__ = ['DeltaTunedBackbone', 'LoadReport', 'SlotBlock', 'SwinMona', 'SwinMonaBlock']
