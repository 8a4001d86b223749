"""The per-image result cache: each model's candidates for an image, so a re-query needs no model run.

An optimisation only: a fault of its store (local directory or Redis) costs a recomputation, a log line and
cache_errors_total, never an answer and never the start-up. protocol.py says what the API needs and how entries
are named (scoped by API token); local.py keeps them in CACHE_DIR, redis.py in a Redis shared by instances.
Values are `Candidates.to_bytes()`: exact, so a cached answer equals an uncached one.
"""

from __future__ import annotations

from .local import LocalCache
from .protocol import CountedCache, NoCache, ResultCache, cache_key, image_key
from .redis import KEY_PREFIX, RedisCache

__all__ = [
    "KEY_PREFIX",
    "CountedCache",
    "LocalCache",
    "NoCache",
    "RedisCache",
    "ResultCache",
    "cache_key",
    "image_key",
    "open_cache",
]


def open_cache(config: dict) -> ResultCache:
    """The cache the configuration asks for: off, in Redis (CACHE_URL, several instances), or local."""
    if config["CACHE_BYTES"] == 0:
        return NoCache()
    if config["CACHE_URL"]:
        return CountedCache(RedisCache(config["CACHE_URL"], config["CACHE_TTL_S"]))
    return CountedCache(LocalCache(config["CACHE_DIR"], config["CACHE_BYTES"]))
