"""The Procfile command under real gunicorn: JSON, multipart, concurrency; gunicorn.conf.py's PaaS settings."""
from __future__ import annotations

import base64
import os
import re
import runpy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from servers import ROOT, RunningServer, gunicorn_server, wait_workers_serving

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
    from_form = requests.post(server.url + "/api/predict", files={"image": ("a.jpg", image, "image/jpeg")},
                              data={"score_th": "0.35"}, timeout=30)
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
    expected = {"astronaut.jpg": "person", "coffee.jpg": "cup", "chelsea.png": "cat",
                "motorcycle_left.jpg": "motorcycle"}

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
    for name in ("PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "ORT_INTRA_OP_THREADS"):
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
def test_conf_workers_follow_web_concurrency_without_oversubscribing(monkeypatch, cpus, web_concurrency, workers,
                                                                   intra_op_threads):
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
    assert re.search(r"^web: gunicorn .*--config gunicorn.conf.py .*\"webapp:create_app\(\)\"", procfile, re.M)
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
