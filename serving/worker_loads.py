"""How many requests each worker of one gunicorn has in progress, in memory all of them share.

The memory is mapped when the worker class is imported, in the master, so every worker forked from it sees the
same pages. A worker writes its own slot (pid, requests in progress); a busy worker reads the others to decide
whether a connection that is waiting should be its to take, and whether to keep a connection open after its answer
(serving/worker.py).
"""

from __future__ import annotations

import mmap
import os
import struct

SLOTS = 64  # workers of one gunicorn; a worker whose slot is taken by a live one looks for the next free slot
_SLOT = struct.Struct("ii")  # pid (0: free), requests in progress


class WorkerLoads:
    """A table of (pid, requests in progress), one slot per worker."""

    def __init__(self) -> None:
        self._memory = mmap.mmap(-1, SLOTS * _SLOT.size)  # anonymous and shared: inherited across fork

    def claim(self, preferred: int) -> int:
        """A slot for this process, starting the search at `preferred` (e.g. the worker's age)."""
        me = os.getpid()
        for step in range(SLOTS):
            slot = (preferred + step) % SLOTS
            pid, _ = _SLOT.unpack_from(self._memory, slot * _SLOT.size)
            if pid in (0, me) or not _alive(pid):
                _SLOT.pack_into(self._memory, slot * _SLOT.size, me, 0)
                return slot
        raise RuntimeError(f"more than {SLOTS} live workers share one table")

    def update(self, slot: int, in_progress: int) -> None:
        _SLOT.pack_into(self._memory, slot * _SLOT.size, os.getpid(), in_progress)

    def release(self, slot: int) -> None:
        _SLOT.pack_into(self._memory, slot * _SLOT.size, 0, 0)

    def least_busy(self, slot: int) -> bool:
        """True when no other live worker has fewer requests in progress than this one's slot says."""
        _, mine = _SLOT.unpack_from(self._memory, slot * _SLOT.size)
        for index, (pid, count) in enumerate(_SLOT.iter_unpack(self._memory)):
            if pid and index != slot and count < mine and _alive(pid):
                return False
        return True

    def another_idle(self, slot: int) -> bool:
        """True when another live worker has no request in progress."""
        for index, (pid, count) in enumerate(_SLOT.iter_unpack(self._memory)):
            if pid and index != slot and count == 0 and _alive(pid):
                return True
        return False


def _alive(pid: int) -> bool:
    """A worker killed without releasing its slot must not look idle forever."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user reused the pid
        return False
    return True
