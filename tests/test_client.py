"""The command-line and Python client against a real gunicorn server (and a not-ready app for 503)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image
from werkzeug.serving import make_server

from detection_client import DetectionClient, ServerError, ServerInfo, UsageError, predict_endpoint
from detection_client.cli import main
from detection_client.retry import retry_after_seconds
from inference.annotate import class_color
from tools.servers import ROOT, free_port, gunicorn_server, serving_in_thread
from webapp.app import create_app

pytestmark = pytest.mark.server

PHOTOS = ROOT / "tests" / "data" / "photos"
ASTRONAUT = str(PHOTOS / "astronaut.jpg")
COFFEE = str(PHOTOS / "coffee.jpg")
TOKEN = "secret"
MAX_REQUEST_BYTES = 1_000_000  # above every test photo's base64, below the "big" file below


@pytest.fixture(scope="module")
def server():
    """One gunicorn worker with a token and a small request limit."""
    with gunicorn_server(env={"API_TOKENS": TOKEN, "MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES)}, workers=1) as running:
        yield running


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """main(argv) in this process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_rows(stdout: str) -> list[list[str]]:
    """The table's data lines split into (file, class, score, box) columns."""
    lines = stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["FILE", "CLASS", "SCORE"]
    return [line.split(None, 3) for line in lines[1:]]


def test_table_lists_each_detection(server, capsys):
    code, out, err = run_cli(capsys, server.url, ASTRONAUT, COFFEE, "--token", TOKEN)
    assert code == 0, err
    rows = table_rows(out)  # in the order the answers arrived (two requests in flight)
    astronaut = next(row for row in rows if row[0] == ASTRONAUT)  # its best detection
    assert astronaut[1] == "person" and float(astronaut[2]) > 0.5
    assert [COFFEE, "cup"] in [row[:2] for row in rows]
    x1, y1, x2, y2 = (float(v) for v in astronaut[3].split(","))
    assert 0 <= x1 < x2 <= 512 and 0 <= y1 < y2 <= 512


def test_json_output_equals_the_apis_answer(server, capsys, photo_bytes):
    code, out, _ = run_cli(capsys, server.url + "/api/predict", ASTRONAUT, "--token", TOKEN, "--json")
    assert code == 0
    [record] = json.loads(out)
    direct = requests.post(
        server.url + "/api/predict",
        files={"image": ("a.jpg", photo_bytes("astronaut.jpg"))},
        headers={"X-Api-Token": TOKEN},
        timeout=30,
    ).json()
    assert record["file"] == ASTRONAUT
    assert record["model"] == direct["model"]
    assert record["image"] == {
        "width": 512,
        "height": 512,
        "sha256": hashlib.sha256(photo_bytes("astronaut.jpg")).hexdigest(),
    }
    assert record["detections"] == direct["responses"][0]["detections"]


def test_parameters_reach_the_server(server, capsys):
    code, out, _ = run_cli(capsys, server.url, COFFEE, "--token", TOKEN, "--json", "--classes", "cup")
    assert code == 0
    assert {d["class_name"] for d in json.loads(out)[0]["detections"]} == {"cup"}
    code, out, _ = run_cli(capsys, server.url, COFFEE, "--token", TOKEN, "--json", "--max-results", "0")
    assert json.loads(out)[0]["detections"] == []  # an explicit 0 means 0
    code, out, _ = run_cli(capsys, server.url, COFFEE, "--token", TOKEN, "--json", "--score-th", "0.01")
    low = [d["score"] for d in json.loads(out)[0]["detections"]]
    code, out, _ = run_cli(capsys, server.url, COFFEE, "--token", TOKEN, "--json", "--score-th", "0.8")
    high = [d["score"] for d in json.loads(out)[0]["detections"]]
    assert high and min(high) >= 0.8 and len(high) < len(low)


def test_python_module_entry_point_with_token_from_the_environment(server):
    env = {**os.environ, "DETECTION_API_TOKEN": TOKEN}
    finished = subprocess.run(
        [sys.executable, "-m", "detection_client", server.url, ASTRONAUT, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "person" in [d["class_name"] for d in json.loads(finished.stdout)[0]["detections"]]


def test_a_folder_sends_its_images_in_name_order(server, capsys, tmp_path):
    shutil.copy(COFFEE, tmp_path / "b_coffee.JPG")
    shutil.copy(ASTRONAUT, tmp_path / "a_astronaut.jpg")
    (tmp_path / "notes.txt").write_text("not an image, not sent")
    code, out, err = run_cli(capsys, server.url, str(tmp_path), "--token", TOKEN, "--json")
    assert code == 0, err
    records = json.loads(out)
    assert [Path(r["file"]).name for r in records] == ["a_astronaut.jpg", "b_coffee.JPG"]
    assert "2 images: 2 done, 0 skipped (done before), 0 rejected, 0 failed" in err


def test_standard_input(server, capsys, monkeypatch, photo_bytes):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(photo_bytes("astronaut.jpg"))))
    code, out, _ = run_cli(capsys, server.url, "-", "--token", TOKEN, "--json")
    assert code == 0
    [record] = json.loads(out)
    assert record["file"] == "stdin" and record["detections"][0]["class_name"] == "person"


def test_missing_token_is_explained(server, capsys, monkeypatch):
    monkeypatch.delenv("DETECTION_API_TOKEN", raising=False)
    code, out, err = run_cli(capsys, server.url, ASTRONAUT)
    assert code == 4
    assert "the server needs a valid API token: pass --token" in err
    assert out == ""
    code, _, err = run_cli(capsys, server.url, ASTRONAUT, "--token", "wrong")
    assert code == 4 and "refused the API token" in err


def test_too_large_image_is_reported_and_the_next_one_still_runs(server, capsys, tmp_path):
    big = tmp_path / "big.jpg"
    big.write_bytes(os.urandom(MAX_REQUEST_BYTES))  # its base64 is a third larger than the limit
    code, out, err = run_cli(capsys, server.url, str(big), ASTRONAUT, "--token", TOKEN)
    assert code == 1
    assert f"{big}: the image is too large for the server's limit (HTTP 413" in err
    assert [row[:2] for row in table_rows(out)] == [[ASTRONAUT, "person"]]


def test_non_image_gets_the_servers_422_message(server, capsys, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("hello, not a picture")
    code, out, err = run_cli(capsys, server.url, str(text), "--token", TOKEN, "--json")
    assert code == 1
    assert "HTTP 422 unsupported_image" in err and "not an image" in err
    assert json.loads(out)[0]["error"]["code"] == "unsupported_image"


def test_invalid_parameter_stops_with_a_usage_error(server, capsys):
    code, out, err = run_cli(capsys, server.url, ASTRONAUT, COFFEE, "--token", TOKEN, "--score-th", "3")
    assert code == 2
    assert "score_th must be between" in err and out == ""


def test_nothing_listening_is_reported_after_bounded_retries(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = run_cli(capsys, url, ASTRONAUT, "--retries", "2")
    assert code == 3
    assert f"cannot reach the server at {url} (connection refused) after 3 attempt(s)" in err
    assert out == ""


def test_wrong_path_and_bad_arguments(server, capsys, tmp_path):
    code, _, err = run_cli(capsys, server.url + "/no/such/prefix", ASTRONAUT, "--token", TOKEN)
    assert code == 3 and "is not a detection API (HTTP 404)" in err
    code, _, err = run_cli(capsys, server.url, str(tmp_path / "missing.jpg"))
    assert code == 2 and "no such file or folder" in err
    code, _, err = run_cli(capsys, server.url, str(tmp_path))
    assert code == 2 and "no images" in err
    code, _, err = run_cli(capsys, "ftp://example.invalid", ASTRONAUT)
    assert code == 2 and "not a server URL" in err


def test_annotated_png_uses_the_pages_class_colours(server, capsys, tmp_path):
    code, _, err = run_cli(capsys, server.url, ASTRONAUT, "--token", TOKEN, "--annotate-dir", str(tmp_path))
    assert code == 0, err
    annotated = np.asarray(Image.open(tmp_path / "astronaut.png").convert("RGB"))
    original = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    assert annotated.shape == original.shape == (512, 512, 3)
    person = np.array(class_color(0), np.uint8)
    drawn = np.all(annotated == person, axis=2).sum() - np.all(original == person, axis=2).sum()
    assert drawn > 1000  # a box outline (and label background) in the person colour


def test_json_files_hold_the_same_records_as_stdout(server, capsys, tmp_path):
    code, out, _ = run_cli(
        capsys, server.url, ASTRONAUT, COFFEE, "--token", TOKEN, "--json", "--json-dir", str(tmp_path)
    )
    assert code == 0
    printed = json.loads(out)
    written = [json.loads((tmp_path / name).read_text()) for name in ("astronaut.json", "coffee.json")]
    assert written == printed


def test_python_api(server, photo_bytes):
    with DetectionClient(server.url, token=TOKEN) as client:
        from_path = client.predict(COFFEE, score_th=0.5, classes=["cup"])
        from_bytes = client.predict(photo_bytes("coffee.jpg"), score_th=0.5, classes=["cup"])
    assert (from_path["image"]["width"], from_path["image"]["height"]) == (600, 400)
    assert [d["class_name"] for d in from_path["detections"]] == ["cup"]
    assert from_bytes["detections"] == from_path["detections"]


@pytest.mark.parametrize(
    ("given", "endpoint"),
    [
        ("http://host:5000", "http://host:5000/api/predict"),
        ("http://host:5000/", "http://host:5000/api/predict"),
        ("http://host:5000/api/predict", "http://host:5000/api/predict"),
        ("https://host/detector/", "https://host/detector/api/predict"),
        ("localhost:5000", "http://localhost:5000/api/predict"),
    ],
)
def test_predict_endpoint(given, endpoint):
    assert predict_endpoint(given) == endpoint


def test_predict_endpoint_refuses_other_schemes():
    with pytest.raises(UsageError, match="not a server URL"):
        predict_endpoint("ftp://host/")


@pytest.fixture()
def not_ready_server():
    """The real app without a model (503), served in a thread; yields (url, hits counter)."""
    app = create_app({"TESTING": True, "LOAD_MODEL": False})
    hits = {"predict": 0}

    def counting(environ, start_response):
        hits["predict"] += environ["PATH_INFO"] == "/api/predict"
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, counting, threaded=True)
    with serving_in_thread(server):
        yield f"http://127.0.0.1:{server.server_port}", hits


def test_not_ready_is_retried_then_reported(not_ready_server, photo_bytes):
    url, hits = not_ready_server
    with DetectionClient(url, retries=2, backoff=0.01) as client, pytest.raises(ServerError) as raised:
        client.predict(photo_bytes("astronaut.jpg"))
    assert hits["predict"] == 3
    assert "the server is not ready (HTTP 503" in str(raised.value) and "after 3 attempt(s)" in str(raised.value)


def test_json_lines_stream_one_record_per_image(server, capsys):
    code, out, _ = run_cli(
        capsys, server.url, ASTRONAUT, COFFEE, "--token", TOKEN, "--format", "jsonl", "--concurrency", "2"
    )
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["file"] for r in records) == sorted([ASTRONAUT, COFFEE])  # in the order answers arrived
    assert all(r["detections"] and r["model"] for r in records)


def test_csv_has_one_row_per_detection(server, capsys, tmp_path):
    table = tmp_path / "out" / "detections.csv"
    code, out, _ = run_cli(
        capsys, server.url, ASTRONAUT, COFFEE, "--token", TOKEN, "--format", "jsonl", "--csv", str(table)
    )
    assert code == 0
    records = {r["file"]: r for r in map(json.loads, out.splitlines())}
    rows = list(csv.DictReader(table.read_text().splitlines()))
    assert len(rows) == sum(len(r["detections"]) for r in records.values())
    assert [row["file"] for row in rows] == sorted(row["file"] for row in rows)  # input order: astronaut first
    first = records[rows[0]["file"]]["detections"][0]
    assert [float(rows[0][k]) for k in ("x1", "y1", "x2", "y2")] == first["box"]
    assert (rows[0]["class_name"], float(rows[0]["score"])) == (first["class_name"], first["score"])


@pytest.fixture()
def proxy(server):
    """A loopback proxy to the server that can answer a POST itself: yields (url, script, seen).

    `script` is a list of functions (request entries, real answer or None) -> (status, headers, body) used
    for the next POSTs in turn (forwarded unchanged when empty); `seen` records each POST's entry count.
    """
    script, seen = [], []

    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        headers = {"Content-Type": environ.get("CONTENT_TYPE", ""), "X-Api-Token": environ.get("HTTP_X_API_TOKEN", "")}
        forward = lambda: requests.request(method, server.url + path, data=body, headers=headers, timeout=30)
        if method == "POST":
            seen.append(len(json.loads(body)["requests"]))
        if method == "POST" and script:
            status, extra, answer = script.pop(0)(json.loads(body)["requests"], forward)
        else:
            real = forward()
            status, extra, answer = real.status_code, {}, real.json()
        start_response(f"{status} X", [("Content-Type", "application/json"), *extra.items()])
        return [json.dumps(answer).encode()]

    proxy_server = make_server("127.0.0.1", 0, app, threaded=True)
    with serving_in_thread(proxy_server):
        yield f"http://127.0.0.1:{proxy_server.server_port}", script, seen


def busy(retry_after: str | None = None):
    """A 429 for the whole request, with this Retry-After if given."""
    headers = {"Retry-After": retry_after} if retry_after else {}
    return lambda entries, forward: (429, headers, {"error": {"status": 429, "code": "busy", "message": "slow down"}})


def test_a_rate_limit_paces_without_using_up_the_retries(proxy, photo_bytes):
    url, script, seen = proxy
    script.extend([busy("1"), busy("1")])
    with DetectionClient(url, token=TOKEN, backoff=0.01, retries=0) as client:
        started = time.monotonic()
        result = client.predict(photo_bytes("astronaut.jpg"))
    assert time.monotonic() - started >= 2.0  # waited as told, twice, not the 0.01 s backoff
    assert seen == [1, 1, 1] and result["detections"]


def test_busy_after_every_retry_stops_with_a_server_error(proxy, photo_bytes):
    url, script, seen = proxy
    script.extend([busy(), busy("0"), busy()])  # no time given: each try counts
    with (
        DetectionClient(url, token=TOKEN, retries=2) as client,
        pytest.raises(ServerError, match=r"busy \(HTTP 429: slow down\) after 3 attempt"),
    ):
        client.predict(photo_bytes("astronaut.jpg"))
    assert seen == [1, 1, 1]


def test_only_the_slots_the_server_could_not_start_are_sent_again(proxy, photo_bytes):
    url, script, seen = proxy

    def second_slot_timed_out(entries, forward):
        answer = forward().json()
        answer["responses"][1] = {"error": {"status": 503, "code": "request_timeout", "message": "not started in time"}}
        return 200, {}, answer

    script.append(second_slot_timed_out)
    images = [photo_bytes("astronaut.jpg"), photo_bytes("coffee.jpg"), photo_bytes("astronaut.jpg")]
    with DetectionClient(url, token=TOKEN, backoff=0.01) as client:
        outcomes = client.predict_batch(images)
    assert seen == [3, 1]  # the batch, then the coffee photo alone
    assert [o["image"]["width"] for o in outcomes] == [512, 600, 512]


def test_an_image_the_server_cannot_finish_is_recorded_and_the_run_goes_on(proxy, capsys, tmp_path):
    url, script, _ = proxy
    timed_out = {"error": {"status": 503, "code": "request_timeout", "message": "not started in time"}}
    script.extend(
        [lambda entries, forward: (503, {}, {"model": "m", "responses": [timed_out], "error": timed_out["error"]})] * 2
    )
    code, out, err = run_cli(
        capsys,
        url,
        ASTRONAUT,
        COFFEE,
        "--token",
        TOKEN,
        "--retries",
        "1",
        "--batch-size",
        "1",
        "--concurrency",
        "1",
        "--format",
        "jsonl",
        "--json-dir",
        str(tmp_path),
    )
    assert code == 1
    records = {r["file"]: r for r in map(json.loads, out.splitlines())}
    assert records[ASTRONAUT]["error"]["code"] == "request_timeout" and records[COFFEE]["detections"]
    assert "could not finish the image (HTTP 503 request_timeout" in err and "1 done" in err and "1 failed" in err
    assert json.loads((tmp_path / "astronaut.json").read_text())["error"]["status"] == 503


def test_a_batch_over_the_servers_limits_is_split(server, photo_bytes):
    # MAX_REQUEST_BYTES is 1 MB: 17 photos of ~75 kB are too large together, and more than MAX_BATCH (16).
    photos = [photo_bytes("astronaut.jpg")] * 17
    with DetectionClient(server.url, token=TOKEN) as client:
        outcomes = client.predict_batch(photos, max_results=1)
    assert len(outcomes) == 17 and all(o["detections"][0]["class_name"] == "person" for o in outcomes)


def test_server_info_reads_the_limits_and_palette(server):
    with DetectionClient(server.url) as client:
        info = client.server_info()
    model = requests.get(server.url + "/api/model", timeout=10).json()
    assert info.max_batch == model["limits"]["max_batch"] and info.max_request_bytes == MAX_REQUEST_BYTES
    assert info.palette == tuple(model["palette"]) and info.class_names == tuple(model["class_names"])


def test_server_info_falls_back_to_the_openapi_document_then_16():
    openapi = {"components": {"schemas": {"PredictRequest": {"properties": {"requests": {"maxItems": 8}}}}}}
    assert ServerInfo.from_model_info({}, openapi).max_batch == 8
    assert ServerInfo.from_model_info({"limits": {"max_batch": "many"}}, None).max_batch == 16
    assert ServerInfo.from_model_info({"limits": {"workers": 3}}).workers == 3


@pytest.mark.parametrize(
    ("header", "seconds"), [("7", 7.0), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)]
)
def test_retry_after_header_forms(header, seconds):
    assert retry_after_seconds(header) == seconds


@pytest.mark.parametrize(
    "answer",
    [
        (200, {}, {"responses": []}),  # no slot for the image
        (200, {}, ["not", "an", "object"]),
        (200, {}, {"model": "m", "responses": ["not a slot"]}),
        (500, {}, {"unexpected": True}),
    ],
)
def test_garbage_answers_are_explained_not_crashed_on(proxy, capsys, answer):
    url, script, _ = proxy
    script.append(lambda entries, forward: answer)
    code, out, err = run_cli(capsys, url, ASTRONAUT, "--token", TOKEN, "--format", "jsonl", "--retries", "0")
    assert code in (1, 3) and "Traceback" not in err
    assert ("is not a detection API" in err) if code == 3 else ('"error"' in out and "detect: " + ASTRONAUT in err)


def test_an_output_folder_that_cannot_be_written_stops_the_run(server, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, server.url, ASTRONAUT, COFFEE, "--token", TOKEN, "--json-dir", str(blocker / "json"))
    assert code == 2 and "detect: cannot write" in err
