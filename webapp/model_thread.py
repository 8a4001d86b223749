"""CPU-bound work (decoding, the model) in the server's model thread when it offers one (serving/worker.py)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import request

from serving import MODEL_THREAD_KEY

from .rate_limits import client_key

T = TypeVar("T")


def in_model_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """func(*args, **kwargs), in the worker's model thread if the server passed one, else right here.

    Jobs waiting for the thread take turns by client (the same key as the rate limits): one client's batch or
    flood of requests delays another's next image by one of its own at most.
    """
    run = request.environ.get(MODEL_THREAD_KEY)
    if run is None:
        return func(*args, **kwargs)
    return run(client_key(), func, *args, **kwargs)
