"""A client socket whose reads and writes must keep pace: a deadline that moves forward with each byte."""

from __future__ import annotations

import socket
import time

_SEND_STEP = 256 * 1024  # bytes per send(): each one is checked against the deadline
# An answer's head up to this size waits for the first bytes of its body, so that both leave in one send: on a
# loopback or LAN link each send is a segment the kernel carries and a wake-up of the client.
_HEAD_HOLD_BYTES = 16 * 1024


class ClientTooSlow(Exception):
    """The client let a deadline pass: headers too slow, a pause too long, or a rate too low."""


class PacedSocket:
    """Wraps a gevent socket (blocking style, cooperative) for gunicorn's parser and response writer.

    Two modes: `limit_total(seconds)` (the request head must be complete by then) and
    `limit_rate(idle_s, bytes_per_s)` (no pause longer than idle_s, and on average at least bytes_per_s counted
    from the first transfer, with idle_s of grace). `start_rate_on_first_use` defers the start of the rate clock
    to the first send, so time spent by the application is not counted against the client; it also holds the
    answer's first write (gunicorn writes the head alone) until the next, or until `send_held()`.
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
        self._hold_next = False  # the next write is an answer's head: hold it if small
        self._held = b""

    # -- modes

    def limit_total(self, seconds: float) -> None:
        """Everything from now on must be done within `seconds` (a head still held is dropped: a new exchange)."""
        self._rate, self._deferred, self._deadline = None, None, time.monotonic() + seconds
        self._cap = float("inf")
        self._hold_next, self._held = False, b""

    def limit_rate(self, idle_s: float, bytes_per_s: float, within: float | None = None) -> None:
        """From now on: pauses under idle_s, and an average of at least bytes_per_s after idle_s of grace; and, with
        `within`, everything done within that many seconds however fast the bytes come."""
        now = time.monotonic()
        self._rate, self._deferred = (idle_s, bytes_per_s), None
        self._cap = float("inf") if within is None else now + within
        self._hold_next, self._held = False, b""
        self._rate_started, self._moved, self._deadline = now, 0, min(now + idle_s, self._cap)

    def start_rate_on_first_use(self, idle_s: float, bytes_per_s: float) -> None:
        """Like limit_rate, starting at the next transfer (the answer: after the application has run); the answer's
        first write, when small, is held and sent with the next one or by `send_held()`."""
        self._rate, self._deadline, self._deferred = None, float("inf"), (idle_s, bytes_per_s)
        self._cap = float("inf")
        self._hold_next, self._held = True, b""

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
        """Send everything, each step before the deadline (an answer's small head waits for its body)."""
        if self._hold_next:
            self._hold_next = False
            if len(data) <= _HEAD_HOLD_BYTES:
                self._held = bytes(data)
                return
        if self._held:
            held, self._held = self._held, b""
            if len(data) <= _SEND_STEP:
                data = held + bytes(data)  # one send; a larger body would be copied for nothing
            else:
                self._send(held)
        self._send(data)

    def send_held(self) -> None:
        """Send a head still held (an answer without a body, or whose body was empty)."""
        held, self._held, self._hold_next = self._held, b"", False
        if held and self._sock.fileno() != -1:  # gunicorn closes the socket of an answer that failed half-way
            self._send(held)

    def _send(self, data) -> None:
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
