"""Collect what mmengine's current logger writes (mmengine's loggers do not propagate to pytest's
caplog)."""
import contextlib
import logging
from typing import Iterator, List, Tuple

from mmengine.logging import MMLogger


@contextlib.contextmanager
def logged() -> Iterator[List[Tuple[int, str]]]:
    """``with logged() as records:`` gives ``(level, message)`` of every record meanwhile."""
    records: List[Tuple[int, str]] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append((record.levelno, record.getMessage()))
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
