"""The Procfile command under real gunicorn: JSON, multipart, concurrency; gunicorn.conf.py's PaaS settings."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import runpy
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tools.servers import ROOT, RunningServer, access_lines, gunicorn_server, wait_workers_serving, worker_pids

pytestmark = pytest.mark.server

PHOTOS = ROOT / "tests" / "data" / "photos"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


@pytest.fixture(scope="module")
def server():
    """The Procfile command with 2 workers on a free loopback port."""
    with gunicorn_server(workers=2) as running:
        yield running


def json_request(image: bytes, **features) -> dict:
    """The origin's request shape."""
    return {"requests": [{"features": [features], "image": {"content": base64.b64encode(image).decode()}}]}


def labels(answer: requests.Response) -> list[str]:
    """Class names of the first slot of a 200 answer."""
    assert answer.status_code == 200, answer.text[:300]
    return [d["class_name"] for d in answer.json()["responses"][0]["detections"]]


def booted_worker_pids(server: RunningServer) -> list[int]:
    """Pids of the workers gunicorn booted, from its log."""
    return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", server.log())]


def test_json_and_multipart_give_the_same_detections(server):
    image = (PHOTOS / "astronaut.jpg").read_bytes()
    from_json = requests.post(server.url + "/api/predict", json=json_request(image, score_th=0.35), timeout=30)
    assert "person" in labels(from_json)
    from_form = requests.post(
        server.url + "/api/predict",
        files={"image": ("a.jpg", image, "image/jpeg")},
        data={"score_th": "0.35"},
        timeout=30,
    )
    assert labels(from_form) == labels(from_json)
    assert from_form.json()["responses"][0]["detections"] == from_json.json()["responses"][0]["detections"]


def test_errors_are_json_through_gunicorn(server):
    json_type = {"Content-Type": "application/json"}
    bad = requests.post(server.url + "/api/predict", data=b"{", headers=json_type, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_json"
    missing = requests.get(server.url + "/api/missing", timeout=30)
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("application/json")


def test_concurrent_requests_from_four_threads_all_succeed_on_two_workers(server):
    serving = wait_workers_serving(server)  # each worker has accepted a connection and answered
    photos = ["astronaut.jpg", "coffee.jpg", "chelsea.png", "motorcycle_left.jpg"] * 3
    expected = {
        "astronaut.jpg": "person",
        "coffee.jpg": "cup",
        "chelsea.png": "cat",
        "motorcycle_left.jpg": "motorcycle",
    }

    def detect(name: str) -> tuple[str, list[str]]:
        answer = requests.post(server.url + "/", json=json_request((PHOTOS / name).read_bytes()), timeout=60)
        return name, labels(answer)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(detect, photos))
    assert len(results) == len(photos)
    for name, found in results:
        assert expected[name] in found, (name, found)
    pids = booted_worker_pids(server)
    assert len(pids) == 2 and sorted(pids) == serving, server.log()[-2000:]  # none died and was replaced
    for pid in pids:
        os.kill(pid, 0)  # both workers still alive
    assert "Traceback" not in server.log()


def load_gunicorn_conf(monkeypatch, cpus: int, **env: str) -> dict:
    """gunicorn.conf.py's settings, evaluated with this environment and CPU count."""
    for name in ("PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_WORKER_CLASS", "ORT_INTRA_OP_THREADS"):
        monkeypatch.delenv(name, raising=False)
    # Set, so the conf neither makes a metrics directory nor leaves the variable in this process.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", os.environ.get("PROMETHEUS_MULTIPROC_DIR", "/nonexistent"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)))  # the CPUs this process may use
    settings = runpy.run_path(str(GUNICORN_CONF))
    settings["ORT_INTRA_OP_THREADS"] = os.environ.get("ORT_INTRA_OP_THREADS")  # the conf sets it for the workers
    return settings


def test_conf_binds_the_port_from_the_environment(monkeypatch):
    assert load_gunicorn_conf(monkeypatch, 2, PORT="8123")["bind"].endswith(":8123")
    assert load_gunicorn_conf(monkeypatch, 2, PORT="9001")["bind"].endswith(":9001")


@pytest.mark.parametrize(
    ("cpus", "web_concurrency", "workers", "intra_op_threads"),
    [(8, "2", 2, 4), (8, "3", 3, 2), (8, "16", 16, 1), (2, "2", 2, 1), (4, None, 4, 1), (1, "1", 1, 1)],
)
def test_conf_workers_follow_web_concurrency_without_oversubscribing(
    monkeypatch, cpus, web_concurrency, workers, intra_op_threads
):
    env = {"WEB_CONCURRENCY": web_concurrency} if web_concurrency else {}
    settings = load_gunicorn_conf(monkeypatch, cpus, **env)
    assert settings["workers"] == workers
    assert int(settings["ORT_INTRA_OP_THREADS"]) == intra_op_threads
    assert workers * settings["threads"] * intra_op_threads <= max(cpus, workers)


def test_conf_keeps_an_explicit_ort_thread_count(monkeypatch):
    settings = load_gunicorn_conf(monkeypatch, 8, WEB_CONCURRENCY="2", ORT_INTRA_OP_THREADS="1")
    assert settings["ORT_INTRA_OP_THREADS"] == "1"


def test_procfile_runs_gunicorn_with_this_conf_and_the_app_factory():
    procfile = (ROOT / "Procfile").read_text()
    assert re.search(r"^web: gunicorn .*--config gunicorn.conf.py .*\"webapp\.wsgi:app\"", procfile, re.MULTILINE)
    assert "--bind" not in procfile and "-b " not in procfile  # the conf binds $PORT
    assert Path(GUNICORN_CONF).is_file()


def test_server_log_is_readable_while_running_and_removed_afterwards():
    with gunicorn_server(workers=1) as running:
        log_path = running.log_path
        assert "Booting worker" in running.log()  # failure messages inside the block can quote it
    assert not log_path.exists()  # no gunicorn-*.log left in the temp folder by each test server


@pytest.mark.parametrize("env", [{"LOG_FORMAT": "json"}, {"LOG_LEVEL": "WARNING"}], ids=["json-logs", "warning-level"])
def test_serving_workers_are_found_whatever_the_log_settings(monkeypatch, env):
    """The test helpers read worker pids from access lines: JSON logs or a quieter level must not hide them."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # as if the shell running the tests had it set
    with gunicorn_server(workers=2) as server:
        assert len(wait_workers_serving(server, timeout=30)) == 2


# --- the serving layer: gunicorn's own answers, logs, control socket, metrics files -----------------------


def raw_exchange(url: str, data: bytes) -> bytes:
    """Send raw bytes on a new connection; everything the server answers until it closes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


MALFORMED = {
    "bad request line": (b"GET /api/x?token=SECRET-IN-QUERY HTTP/1.1 junk\r\n\r\n", 400, "bad_request"),
    "request line too long": (b"GET /?q=SECRET-IN-QUERY" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n", 414, "uri_too_long"),
    "too many headers": (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431, "headers_too_large"),
    "chunk size ZZ": (
        (
            b"POST /api/predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n"
        ),
        400,
        "malformed_body",
    ),
    "chunk size -2": (
        (
            b"POST /api/predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n"
        ),
        400,
        "malformed_body",
    ),
    "bad trailer": (
        (
            b"POST /api/predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nBad Trailer\r\n\r\n"
        ),
        400,
        None,
    ),
}


@pytest.mark.parametrize("layout", ["buffered", "sync"])
def test_gunicorn_level_errors_are_json_with_the_security_headers_and_logged_without_query(layout):
    with gunicorn_server(workers=1, env={"GUNICORN_WORKER_CLASS": layout}) as server:
        answers = {name: raw_exchange(server.url, request) for name, (request, _, _) in MALFORMED.items()}
        log = server.log()
    for name, (_, status, code) in MALFORMED.items():
        head, _, body = answers[name].partition(b"\r\n\r\n")
        if layout == "sync" and code != "malformed_body":
            continue  # the sync worker answers its own parse errors in HTML; a body it cannot read reaches the app
        assert head.startswith(f"HTTP/1.1 {status} ".encode()), (name, answers[name][:200])
        assert b"Content-Type: application/json" in head and b"X-Content-Type-Options: nosniff" in head, name
        assert b"Content-Security-Policy: default-src 'self'" in head, name
        error = json.loads(body)["error"]
        assert error["status"] == status and (code is None or error["code"] == code), (name, error)
        assert "SECRET" not in body.decode() and "Traceback" not in body.decode()
    assert "SECRET-IN-QUERY" not in log or layout == "sync", log[-2000:]
    assert "Traceback" not in log


def test_conf_picks_the_worker_layout_and_refuses_an_unknown_one(monkeypatch, capsys):
    assert load_gunicorn_conf(monkeypatch, 2)["worker_class"] == "serving.worker.BufferedWorker"
    assert load_gunicorn_conf(monkeypatch, 2, GUNICORN_WORKER_CLASS="sync")["worker_class"] == "sync"
    gthread = load_gunicorn_conf(
        monkeypatch, 8, GUNICORN_WORKER_CLASS="gthread", GUNICORN_THREADS="4", WEB_CONCURRENCY="2"
    )
    assert (gthread["worker_class"], gthread["threads"], gthread["ORT_INTRA_OP_THREADS"]) == ("gthread", 4, "1")
    with pytest.raises(SystemExit):  # one line naming the variable (tests/test_settings.py checks it)
        load_gunicorn_conf(monkeypatch, 2, GUNICORN_WORKER_CLASS="eventlet")
    assert "GUNICORN_WORKER_CLASS must be one of buffered, sync, gthread" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["fast", "0", "-5", "inf"])
def test_conf_refuses_a_bad_serving_setting_by_name(monkeypatch, capsys, value):
    with pytest.raises(SystemExit):
        load_gunicorn_conf(monkeypatch, 2, SERVE_MIN_BYTES_PER_S=value)
    assert f"SERVE_MIN_BYTES_PER_S must be a positive number, got '{value}'" in capsys.readouterr().err


def test_control_socket_is_off_so_instances_on_one_host_cannot_take_each_others(monkeypatch, tmp_path):
    assert load_gunicorn_conf(monkeypatch, 2)["control_socket_disable"] is True
    home = tmp_path / "home"
    home.mkdir()
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(tmp_path / "run"), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    with gunicorn_server(workers=1, env=env):
        pass
    assert not list(tmp_path.rglob("*.ctl")), list(tmp_path.rglob("*"))


def metric_total(url: str, name: str) -> float:
    text = requests.get(url + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


@pytest.mark.timeout(120)
def test_metrics_files_of_dead_workers_are_folded_and_their_counts_kept(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    with gunicorn_server(workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(folder)}) as server:
        for _ in range(3):
            workers = wait_workers_serving(server)
            counted = metric_total(server.url, "http_requests_total")
            victim = workers[0]
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while (
                victim in worker_pids(server.process.pid) or len(worker_pids(server.process.pid)) < 2
            ) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # the master folds the files in child_exit
            assert not list(folder.glob(f"*_{victim}.db")), sorted(p.name for p in folder.iterdir())
            assert metric_total(server.url, "http_requests_total") >= counted  # the dead worker's counts stay
        names = sorted(p.name for p in folder.iterdir())
    live = set(worker_pids(server.process.pid)) if server.process.poll() is None else set()
    per_worker = [name for name in names if not name.endswith("_archive.db")]
    assert len(per_worker) <= 6, names  # the two live workers' files (a few kinds each), not a set per restart
    assert any(name.endswith("_archive.db") for name in names), names
    assert not live


def test_expect_100_continue_gets_continue_before_the_body_is_read_and_a_too_large_one_gets_413(server):
    photo = (PHOTOS / "coffee.jpg").read_bytes()
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        boundary = "b100"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="c.jpg"\r\n\r\n'.encode()
            + photo
            + f"\r\n--{boundary}--\r\n".encode()
        )
        sock.sendall(
            f"POST /api/predict HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nConnection: close\r\n\r\n".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"cup"' in answer, answer[:300]
    too_large = raw_exchange(
        server.url,
        b"POST /api/predict HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
        b"Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n",
    )
    assert too_large.startswith(b"HTTP/1.1 413 ") and b"request_too_large" in too_large, too_large[:300]
    assert b"100 Continue" not in too_large


def test_a_connection_is_kept_for_the_next_request_and_closed_after_a_body_left_unread(server):
    """Keep-alive (serving/worker.py): several requests on one connection; a request whose body the worker did not
    read (declared too large) closes it, since finding the next request would mean reading that body."""
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
    try:
        connection.request("GET", "/healthz")
        first = connection.getresponse()
        first.read()
        kept = connection.sock
        assert first.status == 200 and first.getheader("Connection") == "keep-alive"
        body = json.dumps(json_request((PHOTOS / "astronaut.jpg").read_bytes()))
        for _ in range(2):
            connection.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
            answer = connection.getresponse()
            detections = json.loads(answer.read())["responses"][0]["detections"]
            assert answer.status == 200 and any(d["class_name"] == "person" for d in detections)
            assert connection.sock is kept, "the connection was not kept"
        connection.putrequest("POST", "/api/predict")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", "999999999")
        connection.endheaders()
        refused = connection.getresponse()
        refused.read()
        assert refused.status == 413 and refused.getheader("Connection") == "close"
        assert connection.sock is None  # http.client closed it, as the answer said
    finally:
        connection.close()


def test_an_answer_closes_its_kept_connection_when_another_worker_idles_while_this_one_has_more_to_do():
    """keep_connection in a running server: two kept connections to one worker, the other worker idle. The answer
    given while the other request is still in progress closes its connection, so that the client's next request can
    reach the idle worker; the last answer, with nothing else in progress, keeps its connection."""
    with gunicorn_server(workers=2, env={"LOG_FORMAT": "text", "CACHE_BYTES": "0"}) as running:
        wait_workers_serving(running)
        address = running.url.removeprefix("http://")

        def answered_by(request_id: str) -> int:
            """The worker whose access line carries `request_id`."""
            deadline = time.monotonic() + 10
            while not (pids := [pid for pid, rid in access_lines(running.log()) if rid == request_id]):
                assert time.monotonic() < deadline, f"no access line for {request_id}"
                time.sleep(0.02)
            return pids[0]

        by_worker: dict[int, list[http.client.HTTPConnection]] = {}
        for probe in range(12):  # until one worker holds two connections
            connection = http.client.HTTPConnection(address, timeout=60)
            connection.request("GET", "/healthz", headers={"X-Request-Id": f"probe{probe}"})
            connection.getresponse().read()
            by_worker.setdefault(answered_by(f"probe{probe}"), []).append(connection)
            if max(len(held) for held in by_worker.values()) == 2:
                break
        pair = next(held for held in by_worker.values() if len(held) == 2)
        photo = (PHOTOS / "astronaut.jpg").read_bytes()
        batch = json_request(photo)
        batch["requests"] *= 4  # several model runs: both requests are in progress together
        for index, (connection, body) in enumerate(zip(pair, (batch, json_request(photo)), strict=True)):
            headers = {"Content-Type": "application/json", "X-Request-Id": f"pair{index}"}
            connection.request("POST", "/api/predict", json.dumps(body), headers)
        answers = [connection.getresponse() for connection in pair]
        for answer in answers:
            answer.read()
        answered_by("pair0"), answered_by("pair1")  # both access lines are written
        order = [rid for _, rid in access_lines(running.log()) if rid.startswith("pair")]
        for connection in (c for held in by_worker.values() for c in held):
            connection.close()
    assert [answer.status for answer in answers] == [200, 200]
    given_first, given_last = (answers[int(rid[-1])] for rid in order)
    assert given_first.getheader("Connection") == "close"
    assert given_last.getheader("Connection") == "keep-alive"


def test_a_workers_connection_loop_is_batch_work_for_the_scheduler(server):
    """The loop's wake-ups must not preempt a model run (serving/worker.py yield_to_the_model); Linux only."""
    workers = booted_worker_pids(server)
    assert len(workers) == 2
    deadline = time.monotonic() + 60  # a worker's loop starts once it has loaded the models
    # The main thread's policy: its id is the process id.
    while {os.sched_getscheduler(pid) for pid in workers} != {os.SCHED_BATCH} and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [os.sched_getscheduler(pid) for pid in workers] == [os.SCHED_BATCH] * 2


def pinned_model_threads(server: RunningServer) -> list[set[int]]:
    """The CPU sets of the workers' threads that keep to fewer CPUs than the server may use."""
    cpus, pinned = os.sched_getaffinity(0), []
    for pid in booted_worker_pids(server):
        threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid]
        pinned += [os.sched_getaffinity(tid) for tid in threads if os.sched_getaffinity(tid) != cpus]
    return pinned


def test_each_workers_model_thread_keeps_to_a_cpu_of_its_own_when_the_workers_fill_the_cpus(server):
    """PIN_MODEL_THREADS=auto with the conf's defaults (2 workers x CPUs // 2 ONNX Runtime threads): pinned exactly
    when that fills the CPUs, each model thread to another CPU."""
    cpus = os.sched_getaffinity(0)
    fills = 2 * max(1, len(cpus) // 2) == len(cpus)
    deadline = time.monotonic() + 60  # a worker pins its model thread once it has loaded the models
    while fills and len(pinned_model_threads(server)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    pinned = pinned_model_threads(server)
    if fills:
        assert len(pinned) == 2 and all(len(one) == 1 for one in pinned) and pinned[0] != pinned[1], pinned
    else:
        assert pinned == []
