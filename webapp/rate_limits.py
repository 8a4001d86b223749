"""Fair share per client: at most RATE_LIMIT images per client (its API token, else its IP address).

Every image of a prediction counts, sent as bytes or named by sha256. The first image of a request is checked
before the request runs (429 with Retry-After when the client is over); the rest of a batch is charged after the
answer, so a batch may take its client over the limit once and its next request waits. Counters live in the
Redis of CACHE_URL, shared by every instance; without it each worker process counts alone (memory). When Redis
fails, each worker counts alone until it answers again (webapp/redis_link.py): limits stay, never a 5xx.
"""

from __future__ import annotations

import math
import time

import redis
from flask import Flask, Response, current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from serving.contract import HOLD_KEY

from .errors import error_response
from .limits_seam import SweptMemoryStorage
from .metrics import RATE_LIMIT_ERRORS
from .redis_link import Outage, connection_options
from .tokens import client_key

LIMITED_ENDPOINTS = {"api.predict"}  # predictions only: health, readiness, metrics and the page are never limited
_UNBOUNDED = 2**52  # a "limit" that admits any charge: images already answered are counted, never refused
# A refusal is answered this late when the server can wait cheaply (serving/worker.py, while at most half of its
# connection slots are taken): a client that ignores Retry-After then gets one refusal per REFUSAL_HOLD_S for each
# connection it keeps open, instead of hundreds a second.
REFUSAL_HOLD_S = 0.5


class RateLimits:
    """The limits of one app, with their counters in Redis (when given a URL) or in this process."""

    def __init__(self, spec: str, redis_url: str) -> None:
        self.items: list[RateLimitItem] = sorted(parse_many(spec), key=lambda item: -item.get_expiry())
        self.description = "; ".join(str(item) for item in self.items)
        self._redis_url = redis_url
        self._shared: SlidingWindowCounterRateLimiter | None = None  # created on first use, in the worker
        self._local: SlidingWindowCounterRateLimiter | None = None
        self._outage = Outage("rate limits", redis_url) if redis_url else None

    def admit(self, client: str) -> int:
        """Charge one image: 0 when admitted, else the seconds to wait (Retry-After)."""
        return self._counted(lambda limiter: self._admit(limiter, client))

    def charge(self, client: str, images: int) -> None:
        """Count `images` more, never refusing them (they have been answered)."""

        def add(limiter: SlidingWindowCounterRateLimiter) -> int:
            for item in self.items:
                limiter.storage.acquire_sliding_window_entry(
                    item.key_for(client), _UNBOUNDED, item.get_expiry(), images
                )
            return 0

        self._counted(add)

    def _admit(self, limiter: SlidingWindowCounterRateLimiter, client: str) -> int:
        for item in self.items:  # longest window first: a refusal there charges nothing
            if not limiter.hit(item, client):
                reset_at = limiter.get_window_stats(item, client).reset_time
                return max(1, math.ceil(reset_at - time.time()))
        return 0

    def _counted(self, operation) -> int:
        """`operation` on the shared counters, or on this process's while Redis is failing."""
        if self._outage is None or self._outage.skipping():
            return operation(self._local_limiter())
        try:
            result = operation(self._shared_limiter())
        except (redis.RedisError, StorageError) as exc:  # down, stuck or refusing: count alone meanwhile
            RATE_LIMIT_ERRORS.inc()
            self._outage.failed(exc)
            return operation(self._local_limiter())
        self._outage.succeeded()
        return result

    def _shared_limiter(self) -> SlidingWindowCounterRateLimiter:
        if self._shared is None:
            self._shared = SlidingWindowCounterRateLimiter(RedisStorage(self._redis_url, **connection_options()))
        return self._shared

    def _local_limiter(self) -> SlidingWindowCounterRateLimiter:
        if self._local is None:
            self._local = SlidingWindowCounterRateLimiter(SweptMemoryStorage())
        return self._local


def init_rate_limits(app: Flask) -> None:
    """Check each prediction against RATE_LIMIT before it runs and charge its other images after."""
    if not app.config["RATE_LIMIT"]:
        return
    limits = RateLimits(app.config["RATE_LIMIT"], app.config["CACHE_URL"])
    app.extensions["rate_limits"] = limits

    @app.before_request
    def refuse_clients_over_their_limit() -> Response | None:
        if request.endpoint not in LIMITED_ENDPOINTS or request.method != "POST":
            return None
        client = client_key()
        wait_s = limits.admit(client)
        if wait_s:
            hold = request.environ.get(HOLD_KEY)
            if hold is not None:
                hold(REFUSAL_HOLD_S)  # Retry-After is in whole seconds from the answer, as before
            message = (
                f"too many images from this client (at most {limits.description}, RATE_LIMIT); try again in {wait_s} s"
            )
            return error_response(429, "rate_limited", message, {"Retry-After": str(wait_s)})
        return None


def charge_rest_of_batch(images_answered: int) -> None:
    """Charge the client for the images of its batch after the first (checked before the request ran)."""
    limits: RateLimits | None = current_app.extensions.get("rate_limits")
    if limits is not None and images_answered > 1:
        limits.charge(client_key(), images_answered - 1)
