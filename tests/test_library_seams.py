"""The library behaviour the buffered worker relies on, checked against the pinned versions: an upgrade that changes
it fails here, by name, instead of silently in production (serving/library_seams.py, serving/worker.py)."""

from __future__ import annotations

import io

import gevent
import gevent.event
import pytest
from gevent import socket as gevent_socket
from gevent.pool import Pool
from gunicorn import http
from gunicorn.config import Config
from gunicorn.http import wsgi

from serving.library_seams import buffered_bytes, close_after_answer, continue_settled, expects_continue
from serving.worker import BufferedWorker, GatedServer

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class RecordingSocket:
    """Enough of a socket for gunicorn's parser (recv) and wsgi.create (send): reads `data`, records sends."""

    def __init__(self, data: bytes) -> None:
        self._data, self.sent = io.BytesIO(data), b""

    def recv(self, size: int) -> bytes:
        return self._data.read(size)

    def send(self, data: bytes) -> int:
        self.sent += data
        return len(data)

    sendall = send


def parsed(head: bytes):
    sock = RecordingSocket(head + b"{}")
    return next(http.get_parser(Config(), sock, ("127.0.0.1", 1))), sock


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n", False),
        (b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", False),  # HTTP/1.0: ignored
    ],
)
def test_gunicorn_parses_the_continue_expectation_where_the_seam_reads_it(head, expected):
    req, _ = parsed(head)
    assert expects_continue(req) is expected


def test_gunicorn_sends_100_continue_itself_unless_the_seam_settled_it():
    head = b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    req, sock = parsed(head)
    wsgi.create(req, sock, ("127.0.0.1", 1), ("127.0.0.1", 2), Config())
    assert sock.sent == CONTINUE  # what the worker must keep gunicorn from doing a second time
    req, sock = parsed(head)
    continue_settled(req)
    assert not expects_continue(req)
    wsgi.create(req, sock, ("127.0.0.1", 1), ("127.0.0.1", 2), Config())
    assert sock.sent == b""


def test_the_start_response_gunicorn_hands_the_app_can_close_a_connection_the_request_would_keep():
    """handle_request calls the app with its Response's bound start_response; the worker closes through it."""
    req, sock = parsed(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    resp, _ = wsgi.create(req, sock, ("127.0.0.1", 1), ("127.0.0.1", 2), Config())
    resp.start_response("200 OK", [("Content-Length", "0")])
    assert not resp.should_close()  # HTTP/1.1 with a length: kept by default
    close_after_answer(resp.start_response)
    assert resp.should_close()
    resp.send_headers()
    assert b"Connection: close\r\n" in sock.sent


def test_the_parser_keeps_the_bytes_of_a_next_request_where_the_seam_counts_them():
    """A client may send its next request before reading the answer: gunicorn's first read takes both."""
    partial = b"GET /healthz HTTP/1.1\r\nX-Slow: "
    sock = RecordingSocket(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" + partial)
    parser = http.get_parser(Config(), sock, ("127.0.0.1", 1))
    assert next(parser).path == "/"
    assert buffered_bytes(parser) == len(partial)


@pytest.fixture
def listener():
    sock = gevent_socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(1)  # as the worker sets it
    yield sock
    sock.close()


def test_gevent_public_accept_steps_take_one_waiting_connection_or_report_none(listener):
    handled = []
    server = GatedServer(listener, handle=lambda sock, addr: handled.append(sock.recv(5)), spawn=Pool(2))
    server.paused = lambda: True  # gevent accepts nothing itself: the worker takes connections one by one
    server.start()
    try:
        assert server.started and not server.closed
        assert BufferedWorker._take_one(server) is False  # nothing waits: BlockingIOError, no wait
        with gevent_socket.create_connection(listener.getsockname()) as client:
            client.sendall(b"hello")
            gevent.sleep(0.05)
            assert BufferedWorker._take_one(server) is True
            gevent.sleep(0.05)  # do_handle spawned the handler in the pool
        assert handled == [b"hello"]
        assert 0 < server.min_delay <= server.max_delay  # the worker's own accept backoff uses these bounds
    finally:
        server.close()
    assert server.closed


def test_gevent_resumes_accepting_through_start_accepting_so_the_busy_gate_holds(listener):
    """gevent restarts accepting itself when a pool slot frees; it must go through start_accepting, which the
    worker's GatedServer overrides to stay paused while busy."""
    release = gevent.event.Event()
    pool = Pool(1)
    taken = []
    server = GatedServer(listener, handle=lambda sock, addr: (taken.append(addr), release.wait(5)), spawn=pool)
    paused = [True]
    server.paused = lambda: paused[0]
    calls = []
    original = server.start_accepting
    server.start_accepting = lambda: (calls.append(True), original())[1]
    server.max_accept = 1
    paused[0] = False
    server.start()
    try:
        with (
            gevent_socket.create_connection(listener.getsockname()),
            gevent_socket.create_connection(listener.getsockname()),
        ):
            gevent.sleep(0.05)  # the first fills the pool: gevent stops accepting
            assert pool.full()
            paused[0] = True
            calls.clear()
            release.set()
            gevent.sleep(0.05)  # the slot frees: gevent asks start_accepting, which the gate refuses
            assert calls, "gevent no longer resumes accepting through start_accepting"
            assert len(taken) == 1 and len(pool) == 0  # the second connection was not taken while paused
    finally:
        server.close()


def test_limits_memory_storage_still_has_the_private_steps_the_seam_replaces():
    """webapp/limits_seam.py overrides a name-mangled method of the pinned limits: it must still exist and be
    what a hit calls, or the library's timer thread per request comes back (or the sweep never runs)."""
    import inspect

    from limits.storage import MemoryStorage

    from webapp.limits_seam import EXPIRE_EVENTS, SCHEDULE_EXPIRY, SweptMemoryStorage

    assert callable(getattr(MemoryStorage, SCHEDULE_EXPIRY, None)), "limits no longer schedules expiry this way"
    assert callable(getattr(MemoryStorage, EXPIRE_EVENTS, None)), "limits no longer sweeps with this method"
    assert "__schedule_expiry" in inspect.getsource(MemoryStorage.incr), "a hit no longer schedules the sweep"
    assert getattr(SweptMemoryStorage, SCHEDULE_EXPIRY) is not getattr(MemoryStorage, SCHEDULE_EXPIRY)
