"""When to try a request again and how long to wait: exponential backoff with jitter, Retry-After honoured."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .errors import Interrupted

RETRY_STATUSES = frozenset({429, 502, 503, 504})  # busy, not ready yet, or a proxy in front of a restarting server
MAX_BACKOFF_SECONDS = 8.0
MAX_RETRY_AFTER_SECONDS = 60.0  # a server asking for longer is waited for this long, then asked again


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date); None when absent or unreadable."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Backoff:
    """Waits between attempts; a set `stop` event ends the wait at once with Interrupted."""

    def __init__(self, base: float, stop: threading.Event | None = None) -> None:
        self.base = base
        self.stop = stop or threading.Event()

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The server's Retry-After when it gave one (capped), else base x 2^attempt with jitter (capped)."""
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_SECONDS)
        # Jitter spreads the retries of several threads that failed together.
        return min(self.base * 2**attempt, MAX_BACKOFF_SECONDS) * random.uniform(0.5, 1.0)

    def wait(self, attempt: int, retry_after: float | None) -> None:
        """Sleep before attempt + 1, unless asked to stop."""
        if self.stop.wait(self.delay(attempt, retry_after)):
            raise Interrupted("stopped while waiting to retry")

    def check(self) -> None:
        """Raise Interrupted if asked to stop (before sending anything new)."""
        if self.stop.is_set():
            raise Interrupted("stopped before sending")
