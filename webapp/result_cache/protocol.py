"""What the API needs of a result cache, and how an entry is named: by model and image, scoped by API token."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Protocol

from inference.candidates import Candidates

from ..metrics import CACHE_ERRORS, CACHE_HITS, CACHE_MISSES


class ResultCache(Protocol):
    """A store of candidates; `get` returns None for a miss. Neither raises: a fault is a miss or a skipped store."""

    def get(self, model_sha256: str, image_key: str) -> Candidates | None: ...

    def put(self, model_sha256: str, image_key: str, candidates: Candidates) -> None: ...


def image_key(image_sha256: str, token: str | None) -> str:
    """The cache's name for an image: its sha256 on an open server; with API tokens, HMAC-SHA256 of it under the
    client's token, so only a holder of that token can name the entry (another client's same bytes are another
    entry, and the store never holds a plain image hash it could be asked about)."""
    if token is None:
        return image_sha256
    return hmac.new(token.encode(), image_sha256.encode(), hashlib.sha256).hexdigest()


def cache_key(model_sha256: str, image_key: str) -> str:
    """One key per (model, image): the same image under another model is another entry."""
    return f"{model_sha256[:16]}:{image_key}"


class NoCache:
    """CACHE_BYTES=0: every request computes; a sha256 reference always misses."""

    def get(self, model_sha256: str, image_key: str) -> Candidates | None:
        return None

    def put(self, model_sha256: str, image_key: str, candidates: Candidates) -> None:
        return None


class CountedCache:
    """Another cache, with its hits and misses counted for /metrics (cache_hits_total, cache_misses_total)."""

    def __init__(self, inner: ResultCache) -> None:
        self.inner = inner

    def get(self, model_sha256: str, image_key: str) -> Candidates | None:
        found = self.inner.get(model_sha256, image_key)
        (CACHE_MISSES if found is None else CACHE_HITS).inc()
        return found

    def put(self, model_sha256: str, image_key: str, candidates: Candidates) -> None:
        self.inner.put(model_sha256, image_key, candidates)


def entry_candidates(key: str, data: bytes) -> Candidates | None:
    """A stored entry's candidates; None (counted and logged: the image is computed again) when it is unusable."""
    try:
        return Candidates.from_bytes(data)
    except (ValueError, TypeError) as exc:
        CACHE_ERRORS.labels("get").inc()
        logging.getLogger(__name__).warning("result cache: entry %s unusable (%s); recomputing", key, exc)
        return None
