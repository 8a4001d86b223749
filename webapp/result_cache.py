"""The per-image result cache: each model's candidates for an image, keyed by the image's sha256.

Every gunicorn worker of an instance opens the same on-disk cache (diskcache: SQLite + files, safe for
concurrent processes), so a re-query by sha256 may land on any worker. Values are `Candidates.to_bytes()`:
exact, so a cached answer equals an uncached one.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import diskcache

from inference.candidates import Candidates

from .metrics import CACHE_HITS, CACHE_MISSES

log = logging.getLogger(__name__)


class ResultCache(Protocol):
    """What the API needs of a cache; `get` returns None for a miss, never raises."""

    def get(self, model_sha256: str, image_sha256: str) -> Candidates | None: ...

    def put(self, model_sha256: str, image_sha256: str, candidates: Candidates) -> None: ...


def cache_key(model_sha256: str, image_sha256: str) -> str:
    """One key per (model, image): the same image under another model is another entry."""
    return f"{model_sha256[:16]}:{image_sha256}"


class NoCache:
    """CACHE_BYTES=0: every request computes; a sha256 reference always misses."""

    def get(self, model_sha256: str, image_sha256: str) -> Candidates | None:
        return None

    def put(self, model_sha256: str, image_sha256: str, candidates: Candidates) -> None:
        return None


class LocalCache:
    """A size-bounded diskcache in `directory`, shared by the processes that open it."""

    def __init__(self, directory: str | Path, size_bytes: int) -> None:
        Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
        # Least recently *stored* goes first: it needs no write on every hit (LRU would).
        self._cache = diskcache.Cache(
            str(directory), size_limit=size_bytes, eviction_policy="least-recently-stored", cull_limit=10
        )

    def get(self, model_sha256: str, image_sha256: str) -> Candidates | None:
        """The candidates, or None on a miss (or an unreadable entry, which is dropped)."""
        key = cache_key(model_sha256, image_sha256)
        try:
            data = self._cache.get(key)
            return None if data is None else Candidates.from_bytes(data)
        except (ValueError, OSError, diskcache.Timeout) as exc:
            log.warning("result cache: entry %s unusable (%s); recomputing", key, exc)
            return None

    def put(self, model_sha256: str, image_sha256: str, candidates: Candidates) -> None:
        """Store; a full disk or a busy database only costs the next request a recomputation."""
        try:
            self._cache.set(cache_key(model_sha256, image_sha256), candidates.to_bytes())
        except (OSError, diskcache.Timeout) as exc:
            log.warning("result cache: cannot store (%s)", exc)

    def volume(self) -> int:
        """Bytes the cache uses on disk (for tests and metrics)."""
        return self._cache.volume()


class CountedCache:
    """Another cache, with its hits and misses counted for /metrics (cache_hits_total, cache_misses_total)."""

    def __init__(self, inner: ResultCache) -> None:
        self.inner = inner

    def get(self, model_sha256: str, image_sha256: str) -> Candidates | None:
        found = self.inner.get(model_sha256, image_sha256)
        (CACHE_MISSES if found is None else CACHE_HITS).inc()
        return found

    def put(self, model_sha256: str, image_sha256: str, candidates: Candidates) -> None:
        self.inner.put(model_sha256, image_sha256, candidates)


def open_cache(config: dict) -> ResultCache:
    """The cache the configuration asks for: off, in Redis (CACHE_URL, several instances), or local."""
    if config["CACHE_BYTES"] == 0:
        return NoCache()
    if config["CACHE_URL"]:
        from .redis_cache import RedisCache  # imports this module for cache_key

        return CountedCache(RedisCache(config["CACHE_URL"], config["CACHE_TTL_S"]))
    return CountedCache(LocalCache(config["CACHE_DIR"], config["CACHE_BYTES"]))
