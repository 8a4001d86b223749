"""One real thread per worker for CPU-bound work, shared fairly: waiting jobs are taken client by client."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from gevent.event import Event
from gevent.threadpool import ThreadPool

T = TypeVar("T")


class ModelThread:
    """Runs one job at a time (the worker's share of the CPUs is one model run); callers wait cooperatively.

    Waiting jobs are served round-robin by client, not first come first served: a client with 30 images queued
    delays another client's next image by at most one of its own, instead of by all 30.
    """

    def __init__(self) -> None:
        self._pool = ThreadPool(1)
        # Whose job runs, or has been handed the thread. A caller let go while its job runs hands the turn on at
        # once; the pool's one thread still runs the next job only after that one (jobs() is one short meanwhile).
        self._busy_for: str | None = None
        self._waiting: dict[str, deque[Event]] = {}  # by client, in turn order (dicts keep insertion order)

    def jobs(self) -> int:
        """Jobs running or waiting here."""
        return int(self._busy_for is not None) + sum(len(queue) for queue in self._waiting.values())

    def run(self, client: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """func(*args, **kwargs) in the model thread when `client`'s turn comes; its result, or its exception."""
        if self._busy_for is not None or self._waiting:
            self._wait_turn(client)
        else:
            self._busy_for = client
        try:
            failed, outcome = self._pool.apply(_outcome, (func, args, kwargs))
        finally:
            self._hand_on()
        if failed:
            raise outcome
        return outcome

    def _wait_turn(self, client: str) -> None:
        turn = Event()
        self._waiting.setdefault(client, deque()).append(turn)
        try:
            turn.wait()
        except BaseException:  # the connection was let go while waiting: give up the place, or the turn
            if turn.is_set():
                self._hand_on()
            else:
                self._forget(client, turn)
            raise

    def _hand_on(self) -> None:
        """The thread is free: wake the oldest job of the next client in turn; that client goes to the back.

        The client whose job just ran goes to the back first, so a client that was waiting goes before its next.
        """
        finished, self._busy_for = self._busy_for, None
        if finished in self._waiting and len(self._waiting) > 1:
            self._waiting[finished] = self._waiting.pop(finished)
        if self._waiting:
            client = next(iter(self._waiting))
            queue = self._waiting.pop(client)
            self._busy_for = client
            queue.popleft().set()
            if queue:
                self._waiting[client] = queue

    def _forget(self, client: str, turn: Event) -> None:
        queue = self._waiting.get(client)
        if queue is not None and turn in queue:
            queue.remove(turn)
            if not queue:
                del self._waiting[client]


def _outcome(func: Callable[..., T], args: tuple, kwargs: dict) -> tuple[bool, Any]:
    """(False, result) or (True, exception): gevent's pool would print the traceback of an exception it carries,
    and a bad image (InferenceError) is an ordinary answer, not a crash."""
    try:
        return False, func(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - carried to the caller, who raises or answers it
        return True, exc
