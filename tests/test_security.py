"""Security: headers on page and API, constant-time tokens, no debug under gunicorn, no request value as a path."""

from __future__ import annotations

import base64
import builtins
import io
import os
import re

import cv2
import pytest
import requests
from PIL import Image

import inference.detector
import webapp.tokens
from tools.servers import ROOT, gunicorn_server
from webapp.app import create_app

PHOTO = (ROOT / "tests" / "data" / "photos" / "coffee.jpg").read_bytes()
TOKEN = "correct-horse-battery-staple"
OTHER_TOKEN = "second-configured-token"
# Readable files a request names: if any were opened, a spy sees the name.
EXISTING_FILE = str(ROOT / "tests" / "data" / "ground_truth.json")
PATH_VALUES = [
    "../../etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\win.ini",
    "file:///etc/passwd",
    EXISTING_FILE,
    "../tests/data/ground_truth.json",
    "/proc/self/environ",
]
MODEL_PATH_VALUE = "/tmp/attacker-model.onnx"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def csp_directives(header: str) -> dict[str, list[str]]:
    """Content-Security-Policy -> {directive: [sources]}."""
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


# --- headers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.get("/"),
        lambda c: c.post("/api/predict", json={"requests": [{"image": {"content": b64(PHOTO)}}]}),
        lambda c: c.post("/api/predict", data=b"{", content_type="application/json"),
        lambda c: c.get("/api/model"),
        lambda c: c.get("/api/no-such-thing"),
        lambda c: c.get("/metrics"),
    ],
    ids=["page", "prediction", "api-400", "model-info", "api-404", "metrics"],
)
def test_security_headers_on_page_and_api_responses(client, send):
    answer = send(client)
    policy = csp_directives(answer.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    sources = [source for values in policy.values() for source in values]
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources and "*" not in sources
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"


def test_the_page_has_no_inline_script_or_style_the_policy_would_need(client):
    page = client.get("/").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # every script is a file from 'self'
    assert "<style" not in page and not re.search(r"\son\w+=", page) and " style=" not in page


# --- API tokens ----------------------------------------------------------------------------------------


@pytest.fixture()
def token_client(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKENS", [TOKEN, OTHER_TOKEN])
    return app.test_client()


@pytest.mark.parametrize(
    "given",
    [
        "x" + TOKEN[1:],
        TOKEN[:-1] + "x",
        TOKEN.upper(),  # same length
        TOKEN[:-1],
        TOKEN + "x",
        TOKEN[:4],
        TOKEN * 2,
        " " + TOKEN,
        "",  # different length
        "t\u00f6ken-latin1",  # a non-ASCII header value
    ],
    ids=["first-char", "last-char", "case", "shorter", "longer", "prefix", "doubled", "space", "empty", "latin1"],
)
def test_wrong_tokens_of_any_length_are_401_json(token_client, given):
    answer = token_client.post(
        "/api/predict", json={"requests": [{"image": {"content": b64(PHOTO)}}]}, headers={"X-Api-Token": given}
    )
    assert answer.status_code == 401 and answer.mimetype == "application/json"
    assert answer.get_json()["error"]["code"] == "unauthorized"
    assert "X-Api-Token" in answer.headers["WWW-Authenticate"]
    assert TOKEN not in answer.get_data(as_text=True)


def test_tokens_are_compared_with_compare_digest_against_every_token(token_client, monkeypatch):
    calls = []
    real = webapp.tokens.hmac.compare_digest

    def spy(given, expected):
        calls.append((given, expected))
        return real(given, expected)

    monkeypatch.setattr(webapp.tokens.hmac, "compare_digest", spy)
    body = {"requests": [{"image": {"content": b64(PHOTO)}}]}
    assert token_client.post("/api/predict", json=body, headers={"X-Api-Token": TOKEN}).status_code == 200
    # The first token matched, yet the second was compared too: no early exit to time.
    assert calls == [(TOKEN.encode(), TOKEN.encode()), (TOKEN.encode(), OTHER_TOKEN.encode())]
    calls.clear()
    assert token_client.post("/api/predict", json=body, headers={"X-Api-Token": "nope"}).status_code == 401
    assert [given for given, _ in calls] == [b"nope", b"nope"]


# --- debug mode ----------------------------------------------------------------------------------------


def test_flask_debug_turns_debug_on_outside_gunicorn_and_off_under_it(monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.delenv("SERVER_SOFTWARE", raising=False)
    assert create_app({"LOAD_MODEL": False}).debug is True  # so the variable is live, and the next line means something
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/27.0.1")
    assert create_app({"LOAD_MODEL": False}).debug is False


# Test-only fault injection in the gunicorn workers (loaded via PYTHONPATH): a request with X-Test-Fault makes
# the view raise, and the exception message, which only the log sees, says whether debug was on.
FAULT_INJECTION = """
import flask

_dispatch = flask.Flask.dispatch_request


def dispatch_request(self):
    if flask.request.headers.get("X-Test-Fault"):
        raise RuntimeError(f"injected fault: app.debug={self.debug} secret-detail=/srv/hidden")
    return _dispatch(self)


flask.Flask.dispatch_request = dispatch_request
"""


@pytest.mark.server
def test_flask_debug_under_gunicorn_gives_json_500_without_traceback_and_debug_off(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(FAULT_INJECTION)
    env = {"FLASK_DEBUG": "1", "PYTHONPATH": str(tmp_path)}
    with gunicorn_server(env=env, workers=1) as server:
        fault = {"X-Test-Fault": "1"}
        failures = [
            requests.get(server.url + "/", headers=fault, timeout=30),
            requests.post(
                server.url + "/api/predict",
                json={"requests": [{"image": {"content": b64(PHOTO)}}]},
                headers=fault,
                timeout=30,
            ),
        ]
        console = requests.get(server.url + "/console", timeout=30)
        after = requests.post(
            server.url + "/api/predict", json={"requests": [{"image": {"content": b64(PHOTO)}}]}, timeout=30
        )
        log = server.log()
    for answer in failures:
        assert answer.status_code == 500 and answer.headers["Content-Type"] == "application/json"
        assert answer.json()["error"]["code"] == "internal_error"
        for leak in ("Traceback", "injected", "/srv/hidden", 'File "', "RuntimeError", "Werkzeug"):
            assert leak not in answer.text, answer.text
    assert log.count("injected fault: app.debug=False") == 2, log[-3000:]  # the fault did run, with debug off
    assert "app.debug=True" not in log
    assert console.status_code == 404 and "Werkzeug Debugger" not in console.text
    assert after.status_code == 200 and log.count("Booting worker") == 1  # the worker survived the faults


# --- no request value reaches the file system -----------------------------------------------------------


@pytest.fixture()
def file_system_spy(monkeypatch):
    """Every path handed to open/stat/imread while the test runs (file objects are not recorded)."""
    touched: list[str] = []

    def spy(original):
        def wrapper(target, *args, **kwargs):
            if isinstance(target, (str, bytes, os.PathLike)):
                touched.append(os.fsdecode(target))
            return original(target, *args, **kwargs)

        return wrapper

    for owner, name in [
        (builtins, "open"),
        (io, "open"),
        (os, "open"),
        (os, "stat"),
        (os, "lstat"),
        (cv2, "imread"),
        (Image, "open"),
    ]:
        monkeypatch.setattr(owner, name, spy(getattr(owner, name)))

    def no_new_model(*args, **kwargs):
        raise AssertionError(f"a request made the app load a model: {args} {kwargs}")

    monkeypatch.setattr(inference.detector.Detector, "__init__", no_new_model)
    return touched


def named_by_request(touched: list[str]) -> list[str]:
    values = [*PATH_VALUES, MODEL_PATH_VALUE, "passwd", "win.ini", "environ", "ground_truth", "attacker"]
    return [path for path in touched if any(value in path for value in values)]


@pytest.mark.parametrize("filename", PATH_VALUES)
def test_multipart_filenames_are_never_opened(client, file_system_spy, filename):
    good = client.post("/api/predict", data={"image": (io.BytesIO(PHOTO), filename)})
    bad = client.post("/api/predict", data={"image": (io.BytesIO(b"not an image"), filename)})
    assert good.status_code == 200 and "cup" in good.get_data(as_text=True)
    assert bad.status_code == 422
    assert named_by_request(file_system_spy) == []


@pytest.mark.parametrize("value", PATH_VALUES)
def test_image_content_and_path_fields_are_never_opened(client, file_system_spy, value):
    entries = [
        {"image": {"content": value}},
        {"image": {"content": b64(value.encode())}},  # the path, base64-encoded
        {"image": {"source": {"imageUri": value}}},  # the Google Vision shape the origin resembles
        {"image": {"content": b64(PHOTO), "path": value, "filename": value, "uri": value}},
    ]
    answer = client.post("/api/predict", json={"requests": entries})
    assert answer.status_code == 200
    slots = answer.get_json()["responses"]
    # The unknown keys (a Google Vision `source`, `path`, ...) are refused by name, never followed.
    assert [slot.get("error", {}).get("status") for slot in slots] == [422, 422, 422, 422]
    assert [slot["error"]["code"] for slot in slots[2:]] == ["unknown_field", "unknown_field"]
    assert "root:" not in answer.get_data(as_text=True) and "categories" not in answer.get_data(as_text=True)
    assert named_by_request(file_system_spy) == []


def test_model_path_like_fields_in_a_request_are_ignored(app, client, file_system_spy):
    plain = client.post("/api/predict", json={"requests": [{"image": {"content": b64(PHOTO)}}]}).get_json()
    model_fields = {
        "MODEL_PATH": MODEL_PATH_VALUE,
        "model_path": MODEL_PATH_VALUE,
        "MODELS": MODEL_PATH_VALUE,
        "MODEL_URL": "http://127.0.0.1:9/attacker.onnx",
        "MODEL_LABELS": "/etc/passwd",
    }
    # In the body, the features or the form they are unknown keys: refused by name, never read.
    in_body = {"requests": [{"image": {"content": b64(PHOTO)}}], **model_fields}
    in_features = {"requests": [{"image": {"content": b64(PHOTO)}, "features": [model_fields]}]}
    for answer in (
        client.post("/api/predict", json=in_body),
        client.post("/api/predict", json=in_features),
        client.post("/", data={"image": (io.BytesIO(PHOTO), "c.jpg"), **model_fields}),
    ):
        assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "unknown_field"
        assert "root:" not in answer.get_data(as_text=True)
    # In the query string they are ignored.
    from_query = client.post(
        f"/api/predict?MODEL_PATH={MODEL_PATH_VALUE}", json={"requests": [{"image": {"content": b64(PHOTO)}}]}
    ).get_json()
    assert from_query["model"] == plain["model"]
    assert from_query["responses"][0]["detections"] == plain["responses"][0]["detections"]
    assert app.config["MODELS"] == ["yolox_nano", "deimv2_femto"]
    # `model` names a served model, never a file: a path is an unknown name.
    as_model = client.post(
        "/api/predict",
        json={"requests": [{"image": {"content": b64(PHOTO)}, "features": [{"model": MODEL_PATH_VALUE}]}]},
    )
    assert as_model.status_code == 422 and "yolox_nano, deimv2_femto" in as_model.get_json()["error"]["message"]
    assert named_by_request(file_system_spy) == []


# --- metrics and CORS ----------------------------------------------------------------------------------


def test_metrics_need_the_token_when_tokens_are_set_unless_turned_off(token_client, app, monkeypatch):
    assert token_client.get("/metrics").status_code == 401
    assert token_client.get("/metrics", headers={"X-Api-Token": TOKEN}).status_code == 200
    assert token_client.get("/metrics", headers={"Authorization": f"Bearer {OTHER_TOKEN}"}).status_code == 200
    assert token_client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    monkeypatch.setitem(app.config, "METRICS_REQUIRES_TOKEN", False)
    assert token_client.get("/metrics").status_code == 200


@pytest.mark.parametrize("origin", [None, "http://allowed.test", "http://other.test"])
def test_answers_vary_on_origin_when_cors_is_on(origin):
    app = create_app({"LOAD_MODEL": False, "CORS_ORIGINS": ["http://allowed.test"]})
    headers = {"Origin": origin} if origin else {}
    for path in ("/api/openapi.json", "/healthz", "/api/no-such-thing"):
        answer = app.test_client().get(path, headers=headers)
        assert "Origin" in answer.headers.get("Vary", ""), (path, origin, dict(answer.headers))
