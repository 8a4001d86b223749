"""One real thread per worker for CPU-bound work, so the worker's event loop stays free for I/O and health checks."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from gevent.threadpool import ThreadPool

T = TypeVar("T")


class ModelThread:
    """Runs one job at a time (the worker's share of the CPUs is one model run); callers wait cooperatively."""

    def __init__(self) -> None:
        self._pool = ThreadPool(1)

    def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """func(*args, **kwargs) in the model thread; its result, or its exception re-raised here."""
        return self._pool.apply(func, args, kwargs)
