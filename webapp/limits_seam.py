"""The one place where the app reaches into the `limits` library's private state, for want of a public API.

limits' MemoryStorage starts a new timer thread after each hit to sweep expired keys (about 0.4 ms per request,
measured). It offers no switch for that, so SweptMemoryStorage overrides the private, name-mangled scheduling
method and sweeps inline instead. tests/test_library_seams.py fails loudly when the pinned limits changes shape.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage

SCHEDULE_EXPIRY = "_MemoryStorage__schedule_expiry"  # what the library calls after each hit
EXPIRE_EVENTS = "_MemoryStorage__expire_events"  # what sweeps expired keys


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory counters, with expired keys swept in the calling thread at most once a second.

    The library starts a new timer thread after each hit for that sweep (about 0.4 ms per request, measured);
    reads check expiry themselves, so sweeping later changes no count, only when old keys are freed.
    """

    SWEEP_EVERY_S = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()  # the one the library starts at once
        self._next_sweep = 0.0

    def _sweep_at_most_once_a_second(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_EVERY_S
            getattr(self, EXPIRE_EVENTS)()


setattr(SweptMemoryStorage, SCHEDULE_EXPIRY, SweptMemoryStorage._sweep_at_most_once_a_second)
