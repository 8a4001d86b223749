"""Logs: a request id on every response and log line, JSON lines when configured, and no secrets in them."""

from __future__ import annotations

import base64
import io
import json
import re
import time

import pytest
import requests

import webapp.api
from tools.servers import ROOT, gunicorn_server
from webapp.app import create_app
from webapp.request_log import configure_logging

PHOTO = (ROOT / "tests" / "data" / "photos" / "coffee.jpg").read_bytes()
FRESH_ID = re.compile(r"[0-9a-f]{32}")
TOKEN = "tok-5ecret-in-header-7f3a"
# Values a request carries that must never be written to a log.
BODY_SECRET, QUERY_SECRET, FORM_SECRET = "body-5ecret-9b1c", "query-5ecret-2d4e", "form-5ecret-6a8f"
HEADER_SECRET, USER_SECRET = "referer-5ecret-1e2f", "basicuser-5ecret-3c4d"
SECRETS = (TOKEN, BODY_SECRET, QUERY_SECRET, FORM_SECRET, HEADER_SECRET, USER_SECRET, "5ecret")


def json_body(extra_secret: str = BODY_SECRET) -> dict:
    """A good prediction request that also carries a secret in a part the API ignores (a data-URL parameter;
    an unknown key would be refused)."""
    content = f"data:image/jpeg;note={extra_secret};base64," + base64.b64encode(PHOTO).decode()
    return {"requests": [{"image": {"content": content}}]}


@pytest.fixture()
def restore_logging(app):
    """Tests that reconfigure the process's logging put the session app's configuration back."""
    yield
    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])


@pytest.fixture()
def failing_view(monkeypatch):
    """Make POST /api/predict fail with an unexpected exception, as a bug would."""

    def explode():
        raise RuntimeError("an unexpected failure")

    monkeypatch.setattr(webapp.api, "_models", explode)  # runs after the token check


# --- request ids -----------------------------------------------------------------------------------------


def test_every_response_has_a_request_id_and_each_is_new(client, failing_view):
    answers = [
        client.get("/"),
        client.get("/static/app.js"),
        client.get("/healthz"),
        client.get("/metrics"),
        client.get("/no-such-page"),
        client.post("/api/predict", data=b"{", content_type="application/json"),
        client.post("/api/predict", json=json_body()),  # the 500 from failing_view
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 404, 500, 500]
    for answer in answers:
        answer.close()  # the static file's
    ids = [a.headers["X-Request-Id"] for a in answers]
    assert all(FRESH_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("given", ["abc-123", "A" * 64, "0f8fad5b-d9cb-469f-a165-70867728950e"])
def test_a_sane_client_id_is_echoed_and_on_the_log_line(client, capsys, given):
    answer = client.get("/healthz", headers={"X-Request-Id": given})
    assert answer.headers["X-Request-Id"] == given
    access = [line for line in capsys.readouterr().err.splitlines() if "webapp.access" in line]
    assert len(access) == 1 and f"[{given}]" in access[0] and "GET /healthz 200" in access[0], access


@pytest.mark.parametrize(
    "given",
    [
        "abc\nforged INFO line",
        "abc\r\nX-Injected: 1",
        "x" * 65,
        "has space",
        "semi;colon",
        "\u00fcml\u00e4ut",
        "",
        "../../etc/passwd",
    ],
)
def test_an_insane_client_id_is_replaced(client, capsys, given):
    # Through the WSGI environ: the test client, like a real server, refuses newlines in header objects.
    answer = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": given})
    replaced = answer.headers["X-Request-Id"]
    assert FRESH_ID.fullmatch(replaced) and replaced != given
    err = capsys.readouterr().err
    assert f"[{replaced}]" in err
    assert (given or "\0") not in err and "forged" not in err and "X-Injected" not in err


# --- JSON lines ----------------------------------------------------------------------------------------


def test_log_format_json_gives_one_object_per_line(monkeypatch, capsys, restore_logging, failing_view):
    monkeypatch.setenv("LOG_FORMAT", "json")
    json_app = create_app({"TESTING": True, "LOAD_MODEL": False})
    client = json_app.test_client()
    capsys.readouterr()
    ok = client.get("/healthz", headers={"X-Request-Id": "json-lines-1"})
    failed = client.post("/api/predict", json=json_body())
    lines = capsys.readouterr().err.splitlines()

    records = [json.loads(line) for line in lines]  # every line parses, so a traceback did not spill over
    assert all(isinstance(r, dict) and {"request_id", "level", "message"} <= r.keys() for r in records)
    by_id = {}
    for record in records:
        by_id.setdefault(record["request_id"], []).append(record)
    [access] = by_id["json-lines-1"]
    assert access["message"].startswith("GET /healthz 200 ") and access["level"] == "INFO" and access["status"] == 200
    failure = by_id[failed.headers["X-Request-Id"]]
    error = next(r for r in failure if r["level"] == "ERROR")
    assert "Traceback" in error["exc_info"] and "an unexpected failure" in error["exc_info"]
    assert any(r["message"].startswith("POST /api/predict 500") for r in failure)
    assert ok.status_code == 200 and failed.status_code == 500


# --- secrets: tokens, bodies and query strings -------------------------------------------------------------


def send_secret_carrying_requests(post, url: str = "") -> None:
    """Good, wrong-token and form requests, each carrying secrets in the places a client might put them."""
    headers = {"X-Api-Token": TOKEN, "Referer": f"http://example.test/?{HEADER_SECRET}"}
    assert post(f"{url}/api/predict?api_token={QUERY_SECRET}", json=json_body(), headers=headers).status_code == 200
    wrong = {"X-Api-Token": TOKEN[:-1] + "x", "Referer": HEADER_SECRET}
    assert post(f"{url}/api/predict?token={QUERY_SECRET}", json=json_body(), headers=wrong).status_code == 401
    form = {"score_th": "0.3", "note": FORM_SECRET}  # an unknown field: refused by its name, its value unsaid
    assert (
        post(f"{url}/?q={QUERY_SECRET}", data=form, files={"image": ("c.jpg", PHOTO)}, headers=headers).status_code
        == 422
    )


def test_tokens_bodies_and_queries_never_reach_the_logs(app, client, monkeypatch, capsys, caplog, restore_logging):
    monkeypatch.setitem(app.config, "API_TOKENS", [TOKEN])
    configure_logging("text", "DEBUG")  # the most verbose level still says nothing it should not

    def post(url, json=None, data=None, files=None, headers=None):
        if files:
            data = {**data, **{name: (io.BytesIO(content), filename) for name, (filename, content) in files.items()}}
        return client.post(url, json=json, data=data, headers=headers)

    send_secret_carrying_requests(post)
    captured = capsys.readouterr()
    logged = captured.err + captured.out + caplog.text
    assert len([line for line in captured.err.splitlines() if "webapp.access" in line]) == 3
    assert not [secret for secret in SECRETS if secret in logged], logged[-2000:]


def test_an_unexpected_error_logs_no_token_or_body(app, client, monkeypatch, capsys, caplog, failing_view):
    monkeypatch.setitem(app.config, "API_TOKENS", [TOKEN])
    answer = client.post(f"/api/predict?k={QUERY_SECRET}", json=json_body(), headers={"X-Api-Token": TOKEN})
    assert answer.status_code == 500
    logged = capsys.readouterr().err + caplog.text
    assert "Traceback" in logged and "an unexpected failure" in logged
    assert not [secret for secret in SECRETS if secret in logged]


# --- under gunicorn, with its own access log on ----------------------------------------------------------


@pytest.mark.server
def test_gunicorn_access_log_has_no_token_query_header_or_forged_lines():
    env = {"API_TOKENS": TOKEN, "GUNICORN_ACCESS_LOG": "-"}
    with gunicorn_server(env=env, workers=1) as server:

        def post(url, **kwargs):  # with a Basic-auth user name too, which gunicorn's %(u)s would log
            return requests.post(url, auth=(USER_SECRET, "pw"), timeout=30, **kwargs)

        send_secret_carrying_requests(post, server.url)
        forged = requests.get(server.url + "/x%0A127.0.0.1 - - forged-line%0D%0Aforged-2", timeout=10)
        assert forged.status_code == 404
        log = server.log()
    gunicorn_access = [line for line in log.splitlines() if '"POST /' in line and "webapp.access" not in line]
    assert len(gunicorn_access) == 3, log[-3000:]  # gunicorn's own access lines are there to check
    assert not [secret for secret in SECRETS if secret in log], log[-3000:]
    assert not [line for line in log.splitlines() if line.startswith(("127.0.0.1 - - forged", "forged"))], log[-3000:]


@pytest.mark.server
def test_gunicorn_with_log_format_json_writes_only_json_lines():
    env = {"LOG_FORMAT": "json", "GUNICORN_ACCESS_LOG": "-"}
    with gunicorn_server(env=env, workers=1) as server:
        answer = requests.post(
            server.url + "/api/predict", json=json_body(), timeout=30, headers={"X-Request-Id": "gunicorn-json-1"}
        )
        assert answer.status_code == 200
        deadline = time.monotonic() + 20  # gunicorn writes its access line after the answer has gone out
        # This request's line: /readyz's, written at start, is one too.
        while not re.search(r'"gunicorn\.access".*gunicorn-json-1', log := server.log()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
    records = [json.loads(line) for line in log.splitlines() if line.strip()]  # gunicorn's own lines too
    assert all({"request_id", "level", "message"} <= r.keys() for r in records), log[-3000:]
    app_lines = [r for r in records if r["request_id"] == "gunicorn-json-1"]
    assert [r["message"].split()[:3] for r in app_lines] == [["POST", "/api/predict", "200"]]
    gunicorn_access = [r for r in records if r["logger"] == "gunicorn.access" and "/api/predict" in r["message"]]
    assert len(gunicorn_access) == 1 and gunicorn_access[0]["message"].endswith(" gunicorn-json-1"), gunicorn_access
    assert any(r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in records)


# --- one log format for the app and gunicorn (webapp/log_format.py) ------------------------------------


def gunicorn_json_line(monkeypatch, record) -> dict:
    """`record` as gunicorn.conf.py's SafeLogger writes it with LOG_FORMAT=json."""
    import os
    import runpy

    from gunicorn.config import Config

    monkeypatch.setenv("LOG_FORMAT", "json")
    # Set, so loading the conf neither makes a metrics directory nor leaves variables in this process.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", os.environ.get("PROMETHEUS_MULTIPROC_DIR", "/nonexistent"))
    monkeypatch.setenv("ORT_INTRA_OP_THREADS", os.environ.get("ORT_INTRA_OP_THREADS", "1"))
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    gunicorn_logger = conf["SafeLogger"](Config())
    return json.loads(gunicorn_logger.error_log.handlers[0].format(record))


def test_gunicorn_and_the_app_write_the_same_json_keys_in_the_same_order(monkeypatch, restore_logging):
    import logging

    record = logging.LogRecord("gunicorn.error", logging.INFO, __file__, 1, "Booting worker", None, None)
    from_gunicorn = gunicorn_json_line(monkeypatch, record)
    record.request_id = "-"  # what the app's filter stamps outside a request
    from_app = json.loads(configure_logging("json", "INFO").format(record))
    assert list(from_gunicorn) == list(from_app) == ["time", "level", "logger", "pid", "request_id", "message"]
    assert from_gunicorn["request_id"] == "-" and from_gunicorn["message"] == "Booting worker"


def test_control_characters_are_escaped_by_one_shared_function():
    from serving.contract import escape_control_characters, loggable

    assert escape_control_characters("/a\nforged\x1b[31m\x7f") == "/a\\x0aforged\\x1b[31m\\x7f"
    assert loggable("/a\nb") == "/a\\x0ab"
    for source in ("gunicorn.conf.py", "webapp/request_log.py"):  # neither keeps a copy of its own
        text = (ROOT / source).read_text()
        assert "x1f" not in text and '"levelname"' not in text, source  # the regex, the JSON fields


def test_gunicorn_conf_loads_the_log_format_without_the_app_or_its_libraries(tmp_path):
    import os
    import subprocess
    import sys

    script = (
        "import runpy, sys; runpy.run_path('gunicorn.conf.py'); "
        "print(sorted(m for m in ('flask', 'webapp.app', 'inference', 'onnxruntime', 'prometheus_client') if m in sys.modules))"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip() == "[]"  # the master must not import prometheus_client before the conf sets its dir
