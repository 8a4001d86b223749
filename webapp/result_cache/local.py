"""The result cache in a local directory (CACHE_DIR): diskcache (SQLite + files), shared by an instance's workers.

Every gunicorn worker opens the same directory (diskcache is safe for concurrent processes), so a re-query by
sha256 may land on any worker. Any fault of the directory or the database (disk full, read-only, deleted, corrupt)
is a miss or a skipped store, with a log line and cache_errors_total; the cache is then closed and opened afresh
after a pause (a deleted directory is made again). Start-up never waits for it: a cache that cannot open is off
until it can.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import diskcache

from inference.candidates import Candidates

from ..metrics import CACHE_ERRORS
from ..redis_link import Outage
from .protocol import cache_key, entry_candidates


class LocalCache:
    """A size-bounded diskcache in `directory`; `get` and `put` never raise."""

    def __init__(self, directory: str | Path, size_bytes: int) -> None:
        self._directory = Path(directory)
        self._size_bytes = size_bytes
        self._cache: diskcache.Cache | None = None
        self._database: tuple[int, int] | None = None  # (device, inode) of the database file opened
        self._outage = Outage("result cache", place=f"the cache directory {self._directory}")
        self._opening = threading.Lock()  # gthread workers share this object between threads
        self._open()

    def get(self, model_sha256: str, image_key: str) -> Candidates | None:
        """The candidates, or None on a miss, an unusable entry or a fault."""
        store = self._store()
        if store is None:
            return None
        key = cache_key(model_sha256, image_key)
        try:
            data = store.get(key)
        except Exception as exc:  # noqa: BLE001 - whatever a damaged cache raises, the answer goes on without it
            self._failed("get", exc)
            return None
        if data is None:
            return None
        return entry_candidates(key, data)

    def put(self, model_sha256: str, image_key: str, candidates: Candidates) -> None:
        """Store; a fault only costs later requests a recomputation."""
        store = self._store()
        if store is None:
            return
        try:
            store.set(cache_key(model_sha256, image_key), candidates.to_bytes())
        except Exception as exc:  # noqa: BLE001 - e.g. "database or disk is full": never the request's failure
            self._failed("put", exc)
            return
        self._outage.succeeded()  # a store proves the directory writable again

    def volume(self) -> int:
        """Bytes the cache uses on disk (for tests and metrics); 0 while it is closed."""
        store = self._store()
        return store.volume() if store is not None else 0

    def _store(self) -> diskcache.Cache | None:
        """The open cache; after a fault, None until the pause is over, then opened afresh."""
        if self._cache is not None and self._database != _identity(self._directory):
            # Deleted or replaced under us: SQLite would go on writing a file no other worker can open.
            self._failed(
                "open", FileNotFoundError(f"{self._directory / diskcache.core.DBNAME} was removed or replaced")
            )
        if self._cache is None and not self._outage.skipping():
            with self._opening:
                if self._cache is None:
                    self._open()
        return self._cache

    def _open(self) -> None:
        """Open (and make) the directory; a failure leaves the cache closed for a pause."""
        try:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _check_private(self._directory)
            # Least recently *stored* goes first: it needs no write on every hit (LRU would).
            self._cache = diskcache.Cache(
                str(self._directory),
                size_limit=self._size_bytes,
                eviction_policy="least-recently-stored",
                cull_limit=10,
            )
            self._database = _identity(self._directory)
        except Exception as exc:  # noqa: BLE001 - read-only, not a directory, not a database: the service starts anyway
            self._failed("open", exc)

    def _failed(self, operation: str, exc: Exception) -> None:
        """Count and log the fault, close the cache, and leave it alone for a pause."""
        CACHE_ERRORS.labels(operation).inc()
        self._outage.failed(exc)
        store, self._cache = self._cache, None
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken database may fail too; it is dropped either way
                pass


def _identity(directory: Path) -> tuple[int, int] | None:
    """(device, inode) of the cache database in `directory`, or None when there is none."""
    try:
        found = os.stat(directory / diskcache.core.DBNAME)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _check_private(directory: Path) -> None:
    """PermissionError unless `directory` is this user's and only this user may write in it: the default lives
    under a shared /tmp by a name anyone can guess, and a database planted there would decide our answers (and its
    values are unpickled)."""
    info = directory.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise PermissionError(
            f"{directory} belongs to uid {info.st_uid} with mode {oct(info.st_mode & 0o777)}: the cache needs a "
            "folder of its own user that others cannot write in (chmod go-w), or another CACHE_DIR"
        )
