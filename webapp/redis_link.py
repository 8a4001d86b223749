"""A Redis client that fails fast, and a pause after a failure: a dead or hung Redis costs little, never a 5xx."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

# Redis next to the app answers in well under a millisecond; a quarter second means it is gone or stuck.
SOCKET_TIMEOUT_S = 0.25
# After a failure, this worker leaves Redis alone for this long (one timeout per pause, not one per request).
PAUSE_AFTER_FAILURE_S = 5.0


def connection_options() -> dict:
    """redis-py options: short timeouts and no retries (the caller goes on without Redis instead)."""
    return {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": SOCKET_TIMEOUT_S,
        "retry": Retry(NoBackoff(), 0),
    }


def redis_client(url: str) -> redis.Redis:
    """A client for `url`; it connects on first use, so a Redis that is down does not stop the start-up."""
    return redis.Redis.from_url(url, **connection_options())


def where(url: str) -> str:
    """host:port/db of a Redis URL, without its password, for log lines."""
    parts = urlsplit(url)
    return (
        f"{parts.hostname or parts.path}{f':{parts.port}' if parts.port else ''}{parts.path if parts.hostname else ''}"
    )


class Outage:
    """Whether to try Redis (or another failing store) now; logs once when it goes away and once when it is back."""

    def __init__(self, what: str, url: str = "", *, place: str = "") -> None:
        """`place` names what failed in log lines (the result cache's directory); by default, Redis at `url`."""
        self._what, self._place = what, place or f"Redis at {where(url)}"
        self._retry_at = 0.0
        self._down = False

    def skipping(self) -> bool:
        """True during the pause after a failure."""
        return time.monotonic() < self._retry_at

    def failed(self, exc: Exception) -> None:
        """A call failed: pause, and say so if it worked before."""
        self._retry_at = time.monotonic() + PAUSE_AFTER_FAILURE_S
        if not self._down:
            self._down = True
            log.warning(
                "%s: %s failed (%s: %s); going on without it, trying again every %.0f s",
                self._what,
                self._place,
                type(exc).__name__,
                exc,
                PAUSE_AFTER_FAILURE_S,
            )

    def succeeded(self) -> None:
        """A call worked: say so if it had failed."""
        if self._down:
            self._down = False
            log.warning("%s: %s answers again", self._what, self._place)
