"""Slow and idle clients with no proxy in front: the Procfile's gunicorn keeps answering, and they leave nothing behind.

Each held connection is one of: idle (sends nothing), headers trickled, body trickled, never closed after its
answer, answer not read (a small receive buffer and a large answer). Meanwhile ordinary predictions and health
checks must be answered in time and no worker may die.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
from PIL import Image

from tools.servers import (
    ROOT,
    established_connections,
    gunicorn_server,
    listen_backlog,
    open_fds,
    wait_workers_serving,
    worker_pids,
)

pytestmark = pytest.mark.server

PHOTO = (ROOT / "tests" / "data" / "photos" / "astronaut.jpg").read_bytes()
PREDICTION_LIMIT_S = 3.0
HEALTH_LIMIT_S = 0.5
KINDS = ("idle", "headers", "body", "never_closed", "unread")
MAX_UNREAD = 4  # each costs the model one annotated image, so a few are enough
TRICKLE_EVERY_S = 0.3


def noisy_png(side: int = 900) -> bytes:
    """A PNG of random pixels: its annotated copy is large, so an unread answer fills the socket buffers."""
    pixels = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def distinct_copy(n: int) -> bytes:
    """The photo with its first pixel set from n: other bytes, so the result cache cannot answer for the model."""
    image = Image.open(io.BytesIO(PHOTO)).convert("RGB")
    image.putpixel((0, 0), (n % 256, n // 256 % 256, 0))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def multipart_request(image: bytes, fields: dict[str, str]) -> bytes:
    """A complete POST /api/predict with a multipart form, as raw bytes."""
    boundary = "slowclientboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="n.png"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + image
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    head = (
        f"POST /api/predict HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


class SlowClients:
    """`count` connections of the KINDS, held open (and trickled) until close()."""

    def __init__(self, port: int, count: int, unread_request: bytes) -> None:
        self.port, self.count, self.unread_request = port, count, unread_request
        self.sockets: list[tuple[str, socket.socket]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def open(self) -> None:
        unread = 0
        for n in range(self.count):
            kind = KINDS[n % len(KINDS)]
            if kind == "unread":
                unread += 1
                kind = "unread" if unread <= MAX_UNREAD else "idle"
            sock = socket.socket()
            if kind == "unread":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
            sock.connect(("127.0.0.1", self.port))
            if kind == "headers":
                sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: test\r\nX-Slow: ")
            elif kind == "body":
                sock.sendall(
                    b"POST /api/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000000\r\n\r\n{"
                )
            elif kind == "never_closed":
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            elif kind == "unread":
                sock.sendall(self.unread_request)
            self.sockets.append((kind, sock))
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(TRICKLE_EVERY_S):
            for kind, sock in self.sockets:
                if kind in ("headers", "body"):
                    try:
                        sock.send(b"a")
                    except OSError:  # the server gave up on it: that is allowed after its deadline
                        pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for _, sock in self.sockets:
            sock.close()


def timed(call) -> tuple[float, requests.Response]:
    started = time.monotonic()
    answer = call()
    return time.monotonic() - started, answer


def predict_photo(url: str, image: bytes = PHOTO) -> tuple[float, requests.Response]:
    return timed(
        lambda: requests.post(
            url + "/api/predict", files={"image": ("a.jpg", image, "image/jpeg")}, timeout=PREDICTION_LIMIT_S + 5
        )
    )


@pytest.fixture(scope="module")
def server():
    with gunicorn_server(workers=2) as running:
        yield running


@pytest.mark.timeout(120)
@pytest.mark.parametrize("count", [2, 64, 256])
def test_slow_and_idle_connections_do_not_stop_predictions_or_health_checks(server, count):
    port = urlsplit(server.url).port
    # Every worker has predicted once (model thread, metrics and cache files opened) before the baseline.
    workers = wait_workers_serving(server, probe=lambda session: predict_photo(server.url))
    baseline = {pid: open_fds(pid) for pid in workers}
    clients = SlowClients(port, count, multipart_request(noisy_png(), {"annotate": "true"}))
    clients.open()
    try:
        # Every connection accepted (a worker busy with the unread answers' model work accepts later) and trickling.
        deadline = time.monotonic() + 10
        while listen_backlog(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        held = sum(established_connections(pid, port) for pid in workers)
        with ThreadPoolExecutor(2) as pool:  # predictions two at a time while the health checks run
            predictions = pool.map(lambda n: predict_photo(server.url, distinct_copy(count * 100 + n)), range(10))
            health = []
            for _ in range(10):
                health.append(timed(lambda: requests.get(server.url + "/healthz", timeout=HEALTH_LIMIT_S + 5)))
                time.sleep(0.05)
            predictions = list(predictions)
    finally:
        clients.close()
    print(
        f"\n{count} slow connections ({held} held by the workers): prediction max "
        f"{max(s for s, _ in predictions):.2f} s, health max {max(s for s, _ in health):.3f} s"
    )
    waiting = sum(kind in ("idle", "headers", "body") for kind, _ in clients.sockets)  # the others got answers
    assert held >= waiting, f"the workers held only {held} connections of {waiting} still sending"
    for seconds, answer in predictions:
        assert answer.status_code == 200 and answer.json()["responses"][0]["detections"], answer.text[:200]
        assert seconds < PREDICTION_LIMIT_S, seconds
    for seconds, answer in health:
        assert answer.status_code == 200 and seconds < HEALTH_LIMIT_S, seconds
    assert worker_pids(server.process.pid) == workers, "a worker was killed or replaced"
    assert server.log().count("Booting worker") == 2

    def released() -> bool:
        return all(established_connections(pid, port) == 0 and open_fds(pid) <= baseline[pid] for pid in workers)

    deadline = time.monotonic() + 10
    while not released() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert released(), {pid: (open_fds(pid), baseline[pid], established_connections(pid, port)) for pid in workers}


def trickle(sock: socket.socket) -> None:
    """One byte every 0.1 s for 4 s (10 bytes/s), until the server closes the connection."""
    for _ in range(40):
        try:
            sock.send(b"a")
        except OSError:
            return
        time.sleep(0.1)


def read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed (seconds from now)."""
    started, data = time.monotonic(), b""
    sock.settimeout(limit_s)
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data, time.monotonic() - started


@pytest.mark.timeout(60)
def test_deadlines_close_idle_connections_and_answer_slow_requests_408_json():
    env = {"SERVE_HEADER_TIMEOUT_S": "1", "SERVE_IDLE_TIMEOUT_S": "1", "SERVE_MIN_BYTES_PER_S": "1000"}
    with gunicorn_server(workers=1, env=env) as server:
        port = urlsplit(server.url).port
        idle, headers, body = (socket.create_connection(("127.0.0.1", port)) for _ in range(3))
        headers.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        body.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000\r\n\r\n"
        )

        # 10 bytes/s: well under SERVE_MIN_BYTES_PER_S
        threads = [threading.Thread(target=trickle, args=(sock,), daemon=True) for sock in (headers, body)]
        for thread in threads:
            thread.start()
        with ThreadPoolExecutor(3) as pool:
            (idle_data, idle_s), (headers_data, headers_s), (body_data, body_s) = pool.map(
                lambda sock: read_until_closed(sock, 10), (idle, headers, body)
            )
        for sock in (idle, headers, body):
            sock.close()
        assert idle_data == b"" and 0.8 < idle_s < 3, (idle_data, idle_s)  # a silent connection: just closed
        for data, seconds in ((headers_data, headers_s), (body_data, body_s)):
            head, _, json_body = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 ") and b"Content-Type: application/json" in head, data[:300]
            assert b"X-Content-Type-Options: nosniff" in head and b"Content-Security-Policy:" in head
            assert b'"code": "client_too_slow"' in json_body and seconds < 4, (data, seconds)
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
        assert "Booting worker" in server.log() and server.log().count("Booting worker") == 1


@pytest.mark.timeout(60)
def test_a_kept_connection_gets_a_new_connections_deadline_for_its_next_request():
    """After an answer a connection stays open (keep-alive), idle like a new one: silent (or with only the CRLF some
    clients send after a request), it is closed; a next head that stalls or trickles gets 408, also when the client
    sent its start before reading the answer (the parser holds those bytes)."""
    env = {"SERVE_HEADER_TIMEOUT_S": "1", "SERVE_IDLE_TIMEOUT_S": "1"}
    healthz = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"
    partial = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: "
    with gunicorn_server(workers=1, env=env) as server:
        port = urlsplit(server.url).port
        silent, stray, stalled, slow = (socket.create_connection(("127.0.0.1", port)) for _ in range(4))
        silent.sendall(healthz)
        stray.sendall(healthz)
        threading.Timer(0.2, stray.sendall, (b"\r\n",)).start()  # after the answer, on the kept connection
        stalled.sendall(healthz + partial)
        slow.sendall(healthz + partial)

        threading.Thread(target=trickle, args=(slow,), daemon=True).start()
        sockets = (silent, stray, stalled, slow)
        with ThreadPoolExecutor(len(sockets)) as pool:
            results = dict(
                zip(("silent", "stray", "stalled", "slow"), pool.map(lambda s: read_until_closed(s, 10), sockets))
            )
        for sock in sockets:
            sock.close()
    for name in ("silent", "stray"):
        data, seconds = results[name]
        assert data.count(b"HTTP/1.1 ") == 1 and data.startswith(b"HTTP/1.1 200 "), (name, data[:300])
        assert b"Connection: keep-alive" in data and 0.8 < seconds < 3, (name, seconds)  # then closed, no 408
    for name in ("stalled", "slow"):
        data, seconds = results[name]
        answers = data.split(b"HTTP/1.1 ")[1:]
        assert [a[:3] for a in answers] == [b"200", b"408"], (name, data)
        assert b'"code": "client_too_slow"' in answers[1] and seconds < 4, (name, seconds)


@pytest.mark.timeout(60)
def test_a_full_worker_drops_its_oldest_connection_without_a_request():
    env = {"GUNICORN_WORKER_CONNECTIONS": "16"}
    with gunicorn_server(workers=1, env=env) as server:
        port = urlsplit(server.url).port
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
        try:
            seconds, answer = predict_photo(server.url)
            assert answer.status_code == 200 and seconds < PREDICTION_LIMIT_S, (answer.status_code, seconds)
            (worker,) = worker_pids(server.process.pid)
            assert established_connections(worker, port) <= 16
            dropped = 0
            for sock in idle[:8]:  # the oldest were let go to make room
                sock.settimeout(2)
                try:
                    dropped += sock.recv(1) == b""
                except (TimeoutError, ConnectionResetError):
                    pass
            assert dropped >= 1
        finally:
            for sock in idle:
                sock.close()


@pytest.mark.timeout(60)
def test_health_checks_are_answered_while_the_only_worker_predicts():
    batch = [("image", (f"{n}.jpg", distinct_copy(n), "image/jpeg")) for n in range(16)]  # no cache hits
    with gunicorn_server(workers=1) as server:
        done = threading.Event()
        answer: list[requests.Response] = []

        def predict_batch() -> None:
            answer.append(requests.post(server.url + "/api/predict", files=batch, timeout=60))
            done.set()

        thread = threading.Thread(target=predict_batch, daemon=True)
        thread.start()
        during = []
        while not done.is_set():
            for path in ("/healthz", "/readyz"):
                seconds, health = timed(lambda path=path: requests.get(server.url + path, timeout=5))
                assert health.status_code == 200 and seconds < HEALTH_LIMIT_S, (path, seconds)
                during.append(not done.is_set())
        thread.join(60)
    assert answer[0].status_code == 200 and len(answer[0].json()["responses"]) == 16
    assert sum(during) >= 4, "the batch ended before the health checks could overlap it"


@pytest.mark.timeout(60)
def test_sigterm_answers_kept_connections_with_close_and_does_not_wait_for_their_next_request():
    """Requests in progress on kept connections at SIGTERM are answered, each with `Connection: close`, and the
    worker exits at once after them, not once the clients' next heads are overdue (SERVE_HEADER_TIMEOUT_S)."""
    image = {"image": {"content": base64.b64encode(PHOTO).decode()}}
    body = json.dumps({"requests": [image] * 8})  # a few model runs: still in progress at the signal
    with gunicorn_server(workers=1, env={"CACHE_BYTES": "0"}) as server:
        connections = [http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30) for _ in range(3)]
        for connection in connections:  # kept after a first answer
            connection.request("GET", "/healthz")
            connection.getresponse().read()
        for connection in connections:
            connection.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        answers = [connection.getresponse() for connection in connections]
        for answer in answers:
            answer.read()
        exit_code = server.process.wait(20)
        seconds = time.monotonic() - started
        for connection in connections:
            connection.close()
    assert [(a.status, a.getheader("Connection")) for a in answers] == [(200, "close")] * len(connections)
    assert exit_code == 0 and seconds < 5, seconds  # not the 10 s header deadline of a kept connection


@pytest.mark.timeout(60)
def test_sigterm_does_not_wait_for_connections_that_sent_no_request():
    with gunicorn_server(workers=1) as server:
        port = urlsplit(server.url).port
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        try:
            deadline = time.monotonic() + 10
            while listen_backlog(port) and time.monotonic() < deadline:
                time.sleep(0.05)
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            exit_code = server.process.wait(15)
            seconds = time.monotonic() - started
        finally:
            for sock in idle:
                sock.close()
    assert exit_code == 0 and seconds < 5, seconds  # not the 10 s header timeout, nor the 30 s graceful timeout
