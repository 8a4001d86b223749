"""Refusals reach the client: the Procfile's gunicorn answers a full buffer and a shutdown with HTTP, never a reset.

A refused upload still being sent must read its JSON 503 (the worker answers, then reads and discards the rest of
the body, within bounds); requests still in the accept queue when SIGTERM arrives get a complete answer.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tools.servers import ROOT, gunicorn_server, listen_backlog, wait_workers_serving

pytestmark = pytest.mark.server

PHOTO = (ROOT / "tests" / "data" / "photos" / "astronaut.jpg").read_bytes()
FLOOD_CLIENTS = 64
UPLOAD_BYTES = 4 * 1024 * 1024
BUFFER_BYTES = 8 * 1024 * 1024  # two uploads fill a worker's buffer: most of a simultaneous flood is refused
CLIENT_TIMEOUT_S = 30
UPLOAD_PIECES, PIECE_PAUSE_S = 8, 0.02


@dataclass
class Outcome:
    """What one raw HTTP exchange came to: a complete answer, or how the connection failed."""

    status: int | None = None
    headers: dict[str, str] | None = None
    body: bytes = b""
    failure: str = ""  # "reset while sending", "reset while reading", "incomplete answer", ...

    @property
    def reset(self) -> bool:
        return self.failure.startswith("reset")


def parse_answer(data: bytes) -> Outcome:
    """A complete HTTP/1.1 answer (status line, headers, a body of its Content-Length), or why it is not one."""
    head, separator, body = data.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    if not separator or not match:
        return Outcome(failure=f"incomplete answer: {data[:120]!r}")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if int(headers.get("content-length", -1)) != len(body):
        return Outcome(failure=f"incomplete answer: {len(body)} body bytes of {headers.get('content-length')}")
    return Outcome(int(match[1]), headers, body)


def exchange(
    port: int, request: bytes, body: bytes = b"", connected: threading.Barrier | None = None, pieces: int = 1
) -> Outcome:
    """Connect, send the whole request (as most clients do, before reading), read everything until the close.

    The body (shared by the flood's clients, not copied) goes in `pieces` with a short pause between them, as over a
    network: uploads then overlap at the server."""
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S) as sock:
        if connected is not None:
            connected.wait(CLIENT_TIMEOUT_S)  # every client sends at once
        view, step = memoryview(body), max(1, -(-len(body) // pieces))
        try:
            sock.sendall(request)
            for start in range(0, len(body), step):
                if start:
                    time.sleep(PIECE_PAUSE_S)
                sock.sendall(view[start : start + step])
        except (ConnectionResetError, BrokenPipeError) as exc:
            return Outcome(failure=f"reset while sending: {exc!r}")
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError as exc:
            return Outcome(failure=f"reset while reading: {exc!r} after {len(data)} bytes")
    return parse_answer(data)


def upload_head(length: int | None, request_id: str | None = None, extra: str = "") -> bytes:
    """POST /api/predict of an octet-stream body (Content-Length, or chunked when `length` is None)."""
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    request_id_line = f"X-Request-Id: {request_id}\r\n" if request_id else ""
    return (
        f"POST /api/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n"
        f"{request_id_line}{extra}{framing}\r\n\r\n"
    ).encode()


def predict_request(request_id: str) -> bytes:
    boundary = "refusalsboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + PHOTO
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /api/predict HTTP/1.1\r\nHost: test\r\nX-Request-Id: {request_id}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def assert_json_503(outcome: Outcome, code: str) -> None:
    assert outcome.headers["content-type"] == "application/json" and outcome.headers["connection"] == "close"
    assert outcome.headers["retry-after"].isdigit() and outcome.headers["x-request-id"]
    assert json.loads(outcome.body)["error"]["code"] == code, outcome.body


@pytest.mark.timeout(180)
def test_every_client_refused_by_a_full_buffer_reads_a_json_503_and_its_refusal_is_logged():
    env = {"SERVE_BUFFER_BYTES": str(BUFFER_BYTES), "GUNICORN_ACCESS_LOG": "-"}
    body = os.urandom(UPLOAD_BYTES)
    clients = range(FLOOD_CLIENTS)

    def flood_id(n: int) -> str | None:
        return f"flood-{n}" if n % 4 else None  # every fourth client sends no id: the worker makes one

    with gunicorn_server(workers=2, env=env) as server:
        port = urlsplit(server.url).port
        wait_workers_serving(server)
        connected = threading.Barrier(FLOOD_CLIENTS)
        with ThreadPoolExecutor(FLOOD_CLIENTS) as pool:
            outcomes = list(
                pool.map(
                    lambda n: exchange(port, upload_head(len(body), flood_id(n)), body, connected, UPLOAD_PIECES),
                    clients,
                )
            )
        log = server.log()
    failures = [outcome.failure for outcome in outcomes if outcome.failure]
    refused = [n for n, outcome in enumerate(outcomes) if outcome.status == 503]
    summary = {
        "answered": len(outcomes) - len(failures),
        "refused 503": len(refused),
        "resets": sum(outcome.reset for outcome in outcomes),
        "other failures": failures[:5],
    }
    print(f"\n{FLOOD_CLIENTS} uploads of {UPLOAD_BYTES} bytes: {summary}")
    assert not failures, summary
    assert len(refused) >= 8, summary  # the buffer did fill: the refusal path was exercised
    assert any(flood_id(n) is None for n in refused), summary
    for n in refused:
        assert_json_503(outcomes[n], "server_busy")
        request_id = outcomes[n].headers["x-request-id"]
        # The client's id, as the app keeps it; else a fresh one.
        assert request_id == flood_id(n) or (flood_id(n) is None and re.fullmatch("[0-9a-f]{32}", request_id))
        # The worker's own warning and gunicorn's access line both name the request: method, path and id.
        assert re.search(rf"503 server_busy for POST /api/predict request_id={request_id}\b", log), log[-3000:]
        assert re.search(rf'"POST /api/predict HTTP/1\.1" 503 \d+ \d+ms {request_id}$', log, re.MULTILINE), log[-3000:]
    for outcome in outcomes:
        if outcome.status != 503:  # admitted whole: the app answered it (an octet-stream body is not an image)
            assert 400 <= outcome.status < 500, (outcome.status, outcome.body[:200])
    assert "Traceback" not in log
    assert log.count("Booting worker") == 2, "a worker was killed or replaced"


SMALL_BUFFER = 1024 * 1024  # below one upload: every upload of LONE_UPLOAD bytes is refused
LONE_UPLOAD = 2 * 1024 * 1024
SMALL_MAX_BODY = 4 * 1024 * 1024  # the most a refused body may cost in bytes read and thrown away
IDLE_S = 1


@pytest.fixture(scope="module")
def refusing_server():
    """One worker whose buffer is smaller than one upload, with a small body limit and a short pause allowance."""
    env = {
        "SERVE_BUFFER_BYTES": str(SMALL_BUFFER),
        "MAX_REQUEST_BYTES": str(SMALL_MAX_BODY),
        "SERVE_IDLE_TIMEOUT_S": str(IDLE_S),
    }
    with gunicorn_server(workers=1, env=env) as server:
        yield server


@pytest.mark.timeout(60)
def test_a_refused_upload_sent_after_100_continue_reads_the_503(refusing_server):
    port = urlsplit(refusing_server.url).port
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S) as sock:
        sock.sendall(upload_head(LONE_UPLOAD, "expects-continue", "Expect: 100-continue\r\n"))
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(os.urandom(LONE_UPLOAD))  # refused past SMALL_BUFFER: the rest is read and thrown away
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    outcome = parse_answer(data)
    assert outcome.status == 503, outcome
    assert_json_503(outcome, "server_busy")
    assert outcome.headers["x-request-id"] == "expects-continue"


@pytest.mark.timeout(60)
def test_a_refused_body_is_thrown_away_up_to_the_body_limit_then_cut(refusing_server):
    """An endless chunked body: read and thrown away up to MAX_REQUEST_BYTES, then the connection is cut."""
    port = urlsplit(refusing_server.url).port
    chunk = b"%x\r\n" % 65536 + os.urandom(65536) + b"\r\n"
    sent, endless = 0, 40 * SMALL_MAX_BODY
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S) as sock:
        sock.sendall(upload_head(None, "endless"))
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            while sent < endless:
                sock.sendall(chunk)
                sent += len(chunk)
    # What the worker read (buffer, then the body limit) plus what the kernel buffers on both sides of loopback.
    assert sent < 6 * SMALL_MAX_BODY, sent


@pytest.mark.timeout(60)
def test_a_refused_client_that_stops_sending_reads_the_503_and_is_let_go_after_the_pause_allowance(refusing_server):
    port = urlsplit(refusing_server.url).port
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S) as sock:
        sock.sendall(upload_head(LONE_UPLOAD, "stalls") + os.urandom(LONE_UPLOAD * 3 // 4))  # then nothing
        started, data = time.monotonic(), b""
        while chunk := sock.recv(65536):
            data += chunk
        closed_after = time.monotonic() - started
    outcome = parse_answer(data)
    assert outcome.status == 503 and outcome.headers["x-request-id"] == "stalls", outcome
    assert closed_after < IDLE_S + 3, closed_after  # not held for the whole REFUSAL_DRAIN_S


def test_the_refused_body_drain_keeps_its_overall_deadline_however_fast_the_bytes_come():
    """PacedSocket.limit_rate(within=...): bytes moving buy time, but never past `within`."""
    from serving.paced_socket import ClientTooSlow, PacedSocket

    ours, theirs = socket.socketpair()
    with ours, theirs:
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(0.02):
                try:
                    theirs.sendall(b"x" * 1024)
                except OSError:
                    return

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        conn = PacedSocket(ours)
        conn.limit_rate(idle_s=5, bytes_per_s=1, within=0.3)
        started = time.monotonic()
        try:
            with pytest.raises(ClientTooSlow):
                while True:
                    conn.recv(65536)
        finally:
            stop.set()
            thread.join(2)
        assert 0.25 < time.monotonic() - started < 1.5


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("workers", "slots", "least_refused"),
    [(2, None, 0), (1, 4, 1)],
    ids=["slots free: all answered", "slots taken: the rest refused"],
)
def test_sigterm_answers_every_request_still_in_the_accept_queue(workers, slots, least_refused):
    queued = 8
    env = {"CACHE_BYTES": "0", **({"GUNICORN_WORKER_CONNECTIONS": str(slots)} if slots else {})}
    with gunicorn_server(workers=workers, env=env) as server:
        port = urlsplit(server.url).port
        pids = wait_workers_serving(server)
        # Stopped workers accept nothing: every request sent now waits, whole, in the kernel's accept queue.
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            with ThreadPoolExecutor(queued) as pool:
                futures = [pool.submit(exchange, port, predict_request(f"queued-{n}")) for n in range(queued)]
                wait_for(lambda: listen_backlog(port) == queued, 10, "the requests did not reach the accept queue")
                time.sleep(0.2)  # their bytes are sent: the kernel holds them for the listener
                server.process.send_signal(signal.SIGTERM)
                wait_for(lambda: "Handling signal: term" in server.log(), 10, "the master did not take SIGTERM")
                wait_for(
                    lambda: all(_signal_pending(pid, signal.SIGTERM) for pid in pids),
                    10,
                    "the master did not pass SIGTERM on to its workers",
                )
                for pid in pids:
                    os.kill(pid, signal.SIGCONT)
                outcomes = [future.result() for future in futures]
        finally:
            for pid in pids:
                _continue(pid)
        exit_code = server.process.wait(60)
        log = server.log()
    statuses = [outcome.status for outcome in outcomes]
    print(
        f"\n{queued} requests in the accept queue at SIGTERM ({workers} workers, {slots or 'default'} slots): "
        f"statuses {statuses}, resets {sum(outcome.reset for outcome in outcomes)}"
    )
    assert [outcome.failure for outcome in outcomes] == [""] * queued, outcomes
    for outcome in outcomes:
        assert outcome.status in (200, 503), (outcome.status, outcome.body[:200])
        if outcome.status == 503:  # a clean refusal: JSON, the connection closed on purpose, retry later
            assert_json_503(outcome, "shutting_down")
        else:
            assert json.loads(outcome.body)["responses"][0]["detections"]
    assert statuses.count(503) >= least_refused, statuses  # with no slot free, the refusal path did run
    assert statuses.count(200) >= 1, statuses
    assert exit_code == 0 and "Traceback" not in log, log[-3000:]


def _signal_pending(pid: int, sig: int) -> bool:
    """Whether `sig` waits, undelivered, for the (stopped) process: /proc's SigPnd/ShdPnd masks."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True  # already gone: nothing left to wait for
    masks = re.findall(r"^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$", status, re.MULTILINE)
    return any(int(mask, 16) >> (sig - 1) & 1 for mask in masks)


def _continue(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass
