from .mona import Mona, MonaOp

__all__ = ['Mona', 'MonaOp']
