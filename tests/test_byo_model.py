"""Bring your own model: MODEL_PATH, MODEL_URL (+ cache, sha256, size limit, offline), family, labels, input size."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import shutil
import subprocess
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import onnx
import pytest
import requests

from inference import ModelError
from inference.catalog import embedded_model
from tools.servers import ROOT, free_port, gunicorn_server, procfile_command, serving_in_thread
from webapp.app import create_app

# The embedded YOLOX-Nano's file, brought as a user would bring a model of their own.
YOLOX_FILE = embedded_model("yolox_nano").path
YOLOX_SHA256 = hashlib.sha256(YOLOX_FILE.read_bytes()).hexdigest()


class CountingHandler(SimpleHTTPRequestHandler):
    """Serves a folder and counts the GET requests it answers."""

    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `hits`, not the log."""


@pytest.fixture()
def model_server(tmp_path):
    """A local HTTP server with yolox_nano.onnx; yields (its URL, the list of paths requested)."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(YOLOX_FILE, served / "yolox_nano.onnx")
    hits: list[str] = []
    handler = type("Handler", (CountingHandler,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(served)))
    with serving_in_thread(server):
        yield f"http://127.0.0.1:{server.server_port}/yolox_nano.onnx", hits


@pytest.fixture()
def model_env(monkeypatch, tmp_path):
    """Set MODEL_* variables for this test only, with a fresh cache folder."""
    for name in ("MODEL_PATH", "MODEL_URL", "MODEL_SHA256", "MODEL_FAMILY", "MODEL_LABELS", "MODEL_INPUT_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODEL_CACHE_DIR", str(tmp_path / "cache"))

    def set_variables(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))

    return set_variables


def model_info(app) -> dict:
    """GET /api/model."""
    answer = app.test_client().get("/api/model")
    assert answer.status_code == 200
    return answer.get_json()


def labels_on(app, image: bytes) -> list[str]:
    """Class names the app's JSON API finds in an image."""
    body = {"requests": [{"image": {"content": base64.b64encode(image).decode()}}]}
    answer = app.test_client().post("/api/predict", json=body)
    assert answer.status_code == 200, answer.get_json()
    return [d["class_name"] for d in answer.get_json()["responses"][0]["detections"]]


def test_model_path_to_a_copy(model_env, tmp_path, photo_bytes):
    copy = tmp_path / "my-detector.onnx"
    shutil.copy(YOLOX_FILE, copy)
    model_env(MODEL_PATH=copy, MODEL_SHA256=YOLOX_SHA256)
    app = create_app({"TESTING": True})
    info = model_info(app)
    assert (info["name"], info["source"], info["family"]) == ("my-detector", "local file my-detector.onnx", "yolox")
    assert info["sha256"] == YOLOX_SHA256
    assert "person" in labels_on(app, photo_bytes("astronaut.jpg"))


def test_model_path_with_the_wrong_sha256(model_env, tmp_path):
    copy = tmp_path / "my-detector.onnx"
    shutil.copy(YOLOX_FILE, copy)
    model_env(MODEL_PATH=copy, MODEL_SHA256="0" * 64)
    with pytest.raises(ModelError, match=f"has sha256 {YOLOX_SHA256}, expected 0000"):
        create_app({"TESTING": True})


def test_model_url_is_downloaded_once_into_the_cache(model_env, model_server, tmp_path, photo_bytes):
    url, hits = model_server
    model_env(MODEL_URL=url, MODEL_SHA256=YOLOX_SHA256)
    first = create_app({"TESTING": True})
    second = create_app({"TESTING": True})
    assert hits == ["/yolox_nano.onnx"]  # the second app used the cached file
    cached = list((tmp_path / "cache").rglob("*.onnx"))
    assert len(cached) == 1 and cached[0].read_bytes() == YOLOX_FILE.read_bytes()
    info = model_info(second)
    assert (info["source"], info["family"]) == (url, "yolox")
    assert "person" in labels_on(first, photo_bytes("astronaut.jpg"))


def test_downloaded_model_with_the_wrong_sha256_is_refused_and_not_cached(model_env, model_server, tmp_path):
    url, hits = model_server
    model_env(MODEL_URL=url, MODEL_SHA256="ab" * 32)
    with pytest.raises(ModelError, match=f"downloaded from {url} has sha256 {YOLOX_SHA256}, expected abab"):
        create_app({"TESTING": True})
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    model_env(MODEL_SHA256=YOLOX_SHA256)
    create_app({"TESTING": True})
    assert len(hits) == 2  # nothing bad was cached: the right file is downloaded afresh


def test_download_larger_than_the_limit_is_refused(model_env, model_server, tmp_path):
    url, _ = model_server
    model_env(MODEL_URL=url, MODEL_MAX_DOWNLOAD_BYTES=100_000)
    with pytest.raises(ModelError, match=f"the model at {url} is larger than MODEL_MAX_DOWNLOAD_BYTES=100000"):
        create_app({"TESTING": True})
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # no partial file left behind


def test_unreachable_model_url_says_what_to_do_offline(model_env):
    url = f"http://127.0.0.1:{free_port()}/yolox_nano.onnx"
    model_env(MODEL_URL=url)
    with pytest.raises(ModelError, match=f"cannot download the model from {url}") as raised:
        create_app({"TESTING": True})
    assert "if this machine is offline, download it elsewhere and set MODEL_PATH" in str(raised.value)


def test_model_family_can_be_forced(model_env, photo_bytes):
    model_env(MODEL_PATH=YOLOX_FILE, MODEL_FAMILY="yolox")
    app = create_app({"TESTING": True})
    assert model_info(app)["family"] == "yolox"
    assert "person" in labels_on(app, photo_bytes("astronaut.jpg"))
    model_env(MODEL_FAMILY="yolov5")  # same output shape as YOLOX: the setting, not detection, decides
    assert model_info(create_app({"TESTING": True}))["family"] == "yolov5"


def test_unknown_family_names_the_supported_ones(model_env):
    model_env(MODEL_PATH=YOLOX_FILE, MODEL_FAMILY="yolo9000")
    with pytest.raises(ModelError, match=r"MODEL_PATH=.*unknown model family 'yolo9000'; supported: yolox, yolov5"):
        create_app({"TESTING": True})


def test_labels_file_renames_the_classes(model_env, tmp_path, photo_bytes):
    names = (ROOT / "inference" / "models" / "coco_classes.txt").read_text().split("\n")
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(["human", *names[1:]]))
    model_env(MODEL_PATH=YOLOX_FILE, MODEL_LABELS=labels)
    app = create_app({"TESTING": True})
    assert model_info(app)["class_names"][:2] == ["human", "bicycle"]
    assert "human" in labels_on(app, photo_bytes("astronaut.jpg"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("cat\ndog\nbird\n", "the model predicts 80 classes but 3 class names were given"),
        (None, "cannot read the labels file"),
    ],
)
def test_unusable_labels_file_is_explained(model_env, tmp_path, content, message):
    labels = tmp_path / "labels.txt"
    if content is not None:
        labels.write_text(content)
    model_env(MODEL_PATH=YOLOX_FILE, MODEL_LABELS=labels)
    with pytest.raises(ModelError, match=message):
        create_app({"TESTING": True})


def test_input_size_for_a_model_with_a_symbolic_input(model_env, tmp_path, photo_bytes):
    model = onnx.load(YOLOX_FILE)
    height, width = model.graph.input[0].type.tensor_type.shape.dim[2:4]
    height.dim_param, width.dim_param = "height", "width"
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_param = "boxes"
    dynamic = tmp_path / "dynamic.onnx"
    onnx.save(model, dynamic)
    model_env(MODEL_PATH=dynamic, MODEL_INPUT_SIZE=320)
    app = create_app({"TESTING": True})
    assert model_info(app)["input_size"] == {"width": 320, "height": 320}
    assert "person" in labels_on(app, photo_bytes("astronaut.jpg"))


@pytest.mark.server
def test_gunicorn_serves_a_model_from_a_url(model_server, tmp_path, photo_bytes):
    url, hits = model_server
    env = {"MODEL_URL": url, "MODEL_SHA256": YOLOX_SHA256, "MODEL_CACHE_DIR": str(tmp_path / "cache")}
    with gunicorn_server(env=env, workers=1) as server:
        info = requests.get(server.url + "/api/model", timeout=10).json()
        answer = requests.post(
            server.url + "/api/predict", files={"image": ("a.jpg", photo_bytes("astronaut.jpg"))}, timeout=30
        )
    assert (info["source"], info["sha256"]) == (url, YOLOX_SHA256)
    assert "person" in [d["class_name"] for d in answer.json()["responses"][0]["detections"]]
    assert hits == ["/yolox_nano.onnx"]


def run_gunicorn_to_exit(env: dict[str, str]) -> subprocess.CompletedProcess:
    """The Procfile command with `env`, expected to stop by itself (bounded by a timeout)."""
    argv = procfile_command()
    argv[0] = str(Path(sys.executable).with_name(argv[0]))
    argv += ["--bind", f"127.0.0.1:{free_port()}"]
    full_env = {**os.environ, "WEB_CONCURRENCY": "1", **env}
    return subprocess.run(argv, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=90, check=False)


@pytest.mark.server
@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("MODEL_PATH", "cannot start: MODEL_PATH={path}: not a loadable ONNX model"),
        ("MODEL_URL", "cannot start: MODEL_URL=http://127.0.0.1:{port}/m.onnx: cannot download the model from"),
        ("MAX_REQUEST_BYTES", "configuration error: MAX_REQUEST_BYTES must be an integer of at least 1, got 'lots'"),
    ],
)
def test_gunicorn_stops_with_the_reason_when_it_cannot_start(tmp_path, setting, reason):
    text_file, port = tmp_path / "model.onnx", free_port()
    text_file.write_text("this is not a model")
    value = {"MODEL_PATH": str(text_file), "MODEL_URL": f"http://127.0.0.1:{port}/m.onnx", "MAX_REQUEST_BYTES": "lots"}
    finished = run_gunicorn_to_exit({setting: value[setting], "MODEL_CACHE_DIR": str(tmp_path / "cache")})
    log = finished.stdout + finished.stderr
    assert finished.returncode == 3, log[-3000:]  # gunicorn's "worker failed to boot": it halts, no respawn loop
    assert reason.format(path=text_file, port=port) in log
    assert log.count("Booting worker") <= 1  # none when the master itself stops on a bad setting
    assert "Traceback" not in log and log.count("cannot start") == 1  # one plain line, no traceback wall


class CutOffHandler(SimpleHTTPRequestHandler):
    """Sends 10 bytes of a longer body, then closes the connection (a download cut off mid-way)."""

    chunked = False  # True: chunked transfer encoding, else a Content-Length of 1000

    def do_GET(self) -> None:
        self.send_response(200)
        if self.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"3e8\r\n0123456789")  # a 1000-byte chunk announced, 10 sent
        else:
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(params=[False, True], ids=["content-length", "chunked"])
def cut_off_server(request):
    """A local HTTP server whose every answer is cut off; yields (a model URL on it, the reason expected)."""
    handler = type("Handler", (CutOffHandler,), {"chunked": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    reason = "IncompleteRead" if request.param else "the connection closed after 10 of 1000 bytes"
    with serving_in_thread(server):
        yield f"http://127.0.0.1:{server.server_port}/m.onnx", reason


def test_download_cut_off_mid_way_is_a_model_error_and_leaves_no_part_file(model_env, cut_off_server, tmp_path):
    url, reason = cut_off_server
    model_env(MODEL_URL=url)
    with pytest.raises(ModelError, match=f"cannot download the model from {url}.*{reason}"):
        create_app({"TESTING": True})
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # nothing half-downloaded is kept


def test_malformed_model_url_is_a_model_error_and_leaves_no_part_file(model_env, tmp_path):
    url = "http://127.0.0.1:notaport/m.onnx"
    model_env(MODEL_URL=url)
    with pytest.raises(ModelError, match="cannot download the model from .*InvalidURL: nonnumeric port") as raised:
        create_app({"TESTING": True})
    assert url in str(raised.value)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
