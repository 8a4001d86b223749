"""CPU-bound work (decoding, the model) in the server's model thread when it offers one (serving/worker.py)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import request

from serving import MODEL_THREAD_KEY

T = TypeVar("T")


def in_model_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """func(*args, **kwargs), in the worker's model thread if the server passed one, else right here."""
    run = request.environ.get(MODEL_THREAD_KEY)
    return run(func, *args, **kwargs) if run is not None else func(*args, **kwargs)
