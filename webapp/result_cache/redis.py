"""The per-image result cache in Redis (CACHE_URL): one cache for every instance, so a sha256 re-query may land anywhere.

Values are `Candidates.to_bytes()` (exact and compact, as in the local cache), each with a TTL; the total is bounded
by the Redis server's `maxmemory` and eviction policy (docs/scaling.md). When Redis fails, lookups miss and stores
are skipped for a pause (webapp/redis_link.py): the answer is computed as without a cache, never a 5xx. Keys are
named as in protocol.py: with API tokens, no key holds a plain image hash.
"""

from __future__ import annotations

import logging

import redis

from inference.candidates import Candidates

from ..metrics import CACHE_ERRORS
from ..redis_link import Outage, redis_client, where
from .protocol import cache_key, entry_candidates

log = logging.getLogger(__name__)

KEY_PREFIX = "candidates:"  # apart from the rate limiter's keys (LIMITS:...) in the same database


class RedisCache:
    """The ResultCache protocol on a Redis server shared by the instances."""

    def __init__(self, url: str, ttl_s: int) -> None:
        self._redis = redis_client(url)
        self._ttl_s = ttl_s
        self._outage = Outage("result cache", url)
        self._describe_server(url)

    def get(self, model_sha256: str, image_key: str) -> Candidates | None:
        """The candidates, or None on a miss, an unusable entry or a Redis failure."""
        if self._outage.skipping():
            return None
        key = KEY_PREFIX + cache_key(model_sha256, image_key)
        try:
            data = self._redis.get(key)
        except (redis.RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        self._outage.succeeded()
        if data is None:
            return None
        return entry_candidates(key, data)

    def put(self, model_sha256: str, image_key: str, candidates: Candidates) -> None:
        """Store with the TTL; a failure only costs the next request a recomputation."""
        if self._outage.skipping():
            return
        try:
            self._redis.set(KEY_PREFIX + cache_key(model_sha256, image_key), candidates.to_bytes(), ex=self._ttl_s)
        except (redis.RedisError, OSError) as exc:  # also "OOM command not allowed" under maxmemory with noeviction
            self._failed("put", exc)
            return
        self._outage.succeeded()

    def _failed(self, operation: str, exc: Exception) -> None:
        CACHE_ERRORS.labels(operation).inc()
        self._outage.failed(exc)

    def _describe_server(self, url: str) -> None:
        """One start-up line: where the cache is, and whether the server bounds its memory."""
        try:
            settings = self._redis.config_get("maxmemory*")
        except redis.RedisError as exc:  # down, or CONFIG not allowed (managed Redis): nothing to check here
            log.info(
                "result cache: Redis at %s, TTL %d s (its memory settings not readable: %s)",
                where(url),
                self._ttl_s,
                exc,
            )
            return
        maxmemory, policy = int(settings.get("maxmemory", 0)), settings.get("maxmemory-policy", "?")
        log.info(
            "result cache: Redis at %s, TTL %d s, maxmemory %d bytes, policy %s",
            where(url),
            self._ttl_s,
            maxmemory,
            policy,
        )
        if maxmemory == 0 or policy == "noeviction":
            log.warning(
                "result cache: Redis at %s does not evict (maxmemory %d, policy %s): set maxmemory and "
                "maxmemory-policy allkeys-lru, or memory grows until entries expire",
                where(url),
                maxmemory,
                policy,
            )
