"""A client socket whose reads and writes must keep pace: a deadline that moves forward with each byte."""

from __future__ import annotations

import socket
import time

_SEND_STEP = 256 * 1024  # bytes per send(): each one is checked against the deadline


class ClientTooSlow(Exception):
    """The client let a deadline pass: headers too slow, a pause too long, or a rate too low."""


class PacedSocket:
    """Wraps a gevent socket (blocking style, cooperative) for gunicorn's parser and response writer.

    Two modes: `limit_total(seconds)` (the request head must be complete by then) and
    `limit_rate(idle_s, bytes_per_s)` (no pause longer than idle_s, and on average at least bytes_per_s counted
    from the first transfer, with idle_s of grace). `start_rate_on_first_use` defers the start of the rate clock
    to the first send, so time spent by the application is not counted against the client.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.received = 0
        self._deadline = float("inf")
        self._rate: tuple[float, float] | None = None  # (idle_s, bytes_per_s)
        self._rate_started: float | None = None
        self._moved = 0  # bytes moved since the rate clock started
        self._deferred: tuple[float, float] | None = None
        self._cap = float("inf")  # a rate's overall deadline, whatever the bytes moved

    # -- modes

    def limit_total(self, seconds: float) -> None:
        """Everything from now on must be done within `seconds`."""
        self._rate, self._deferred, self._deadline = None, None, time.monotonic() + seconds
        self._cap = float("inf")

    def limit_rate(self, idle_s: float, bytes_per_s: float, within: float | None = None) -> None:
        """From now on: pauses under idle_s, and an average of at least bytes_per_s after idle_s of grace; and, with
        `within`, everything done within that many seconds however fast the bytes come."""
        now = time.monotonic()
        self._rate, self._deferred = (idle_s, bytes_per_s), None
        self._cap = float("inf") if within is None else now + within
        self._rate_started, self._moved, self._deadline = now, 0, min(now + idle_s, self._cap)

    def start_rate_on_first_use(self, idle_s: float, bytes_per_s: float) -> None:
        """Like limit_rate, starting at the next transfer (the answer: after the application has run)."""
        self._rate, self._deadline, self._deferred = None, float("inf"), (idle_s, bytes_per_s)
        self._cap = float("inf")

    # -- transfers

    def recv(self, size: int) -> bytes:
        """At most `size` bytes, before the deadline."""
        self._wait_budget()
        try:
            data = self._sock.recv(size)
        except TimeoutError:
            raise ClientTooSlow("the client sent nothing in time") from None
        self.received += len(data)
        self._moved_bytes(len(data))
        return data

    def sendall(self, data) -> None:
        """Send everything, each step before the deadline."""
        view = memoryview(data).cast("B")
        while view:
            self._wait_budget()
            try:
                sent = self._sock.send(view[:_SEND_STEP])
            except TimeoutError:
                raise ClientTooSlow("the client did not read the answer in time") from None
            view = view[sent:]
            self._moved_bytes(sent)

    def send(self, data) -> int:
        """gunicorn sends `100 Continue` with send(): all of it, paced."""
        self.sendall(data)
        return len(data)

    def sendfile(self, file, offset: int = 0, count: int | None = None) -> int:
        """A file's bytes through sendall (paced), as gunicorn's FileWrapper expects."""
        file.seek(offset)
        total = 0
        while count is None or total < count:
            chunk = file.read(_SEND_STEP if count is None else min(_SEND_STEP, count - total))
            if not chunk:
                break
            self.sendall(chunk)
            total += len(chunk)
        return total

    def __getattr__(self, name: str):
        return getattr(self._sock, name)  # fileno, getpeername, setsockopt, close, ...

    # -- the deadline

    def _wait_budget(self) -> None:
        """Set the socket's timeout to what is left before the deadline (starting a deferred rate clock)."""
        if self._deferred is not None:
            self.limit_rate(*self._deferred)
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise ClientTooSlow("the client was too slow")
        self._sock.settimeout(None if left == float("inf") else left)

    def _moved_bytes(self, count: int) -> None:
        """Bytes moved buy time: the next pause may last idle_s, within the average rate's allowance."""
        if self._rate is None or not count:
            return
        idle_s, bytes_per_s = self._rate
        self._moved += count
        now = time.monotonic()
        allowance = self._rate_started + idle_s + self._moved / bytes_per_s
        self._deadline = min(now + idle_s, max(allowance, now), self._cap)
