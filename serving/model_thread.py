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
        failed, outcome = self._pool.apply(_outcome, (func, args, kwargs))
        if failed:
            raise outcome
        return outcome


def _outcome(func: Callable[..., T], args: tuple, kwargs: dict) -> tuple[bool, Any]:
    """(False, result) or (True, exception): gevent's pool would print the traceback of an exception it carries,
    and a bad image (InferenceError) is an ordinary answer, not a crash."""
    try:
        return False, func(*args, **kwargs)
    except Exception as exc:
        return True, exc
