"""The command-line and Python client against a real gunicorn server (and a not-ready app for 503)."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image
from werkzeug.serving import make_server

from detection_client import DetectionClient, ServerError, UsageError, predict_endpoint
from detection_client.cli import main
from inference.annotate import class_color
from servers import ROOT, free_port, gunicorn_server, serving_in_thread
from webapp import create_app

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
    rows = table_rows(out)
    assert [ASTRONAUT, "person"] == rows[0][:2] and float(rows[0][2]) > 0.5
    assert [COFFEE, "cup"] in [row[:2] for row in rows]
    x1, y1, x2, y2 = (float(v) for v in rows[0][3].split(","))
    assert 0 <= x1 < x2 <= 512 and 0 <= y1 < y2 <= 512


def test_json_output_equals_the_apis_answer(server, capsys, photo_bytes):
    code, out, _ = run_cli(capsys, server.url + "/api/predict", ASTRONAUT, "--token", TOKEN, "--json")
    assert code == 0
    [record] = json.loads(out)
    direct = requests.post(
        server.url + "/api/predict", files={"image": ("a.jpg", photo_bytes("astronaut.jpg"))},
        headers={"X-Api-Token": TOKEN}, timeout=30,
    ).json()  # fmt: skip
    assert record["file"] == ASTRONAUT
    assert record["model"] == direct["model"]
    assert record["image"] == {"width": 512, "height": 512}
    assert record["detections"] == direct["responses"][0]["detections"]


def test_parameters_reach_the_server(server, capsys):
    code, out, _ = run_cli(capsys, server.url, COFFEE, "--token", TOKEN, "--json", "--classes", "cup")
    assert code == 0
    assert {d["class_name"] for d in json.loads(out)[0]["detections"]} == {"cup"}
    code, out, _ = run_cli(capsys, server.url, COFFEE, "--token", TOKEN, "--json", "--max-results", "0")
    assert json.loads(out)[0]["detections"] == []  # an explicit 0 means 0
    code, out, _ = run_cli(capsys, server.url, COFFEE, "--token", TOKEN, "--json", "--score-th", "0.8")
    assert [d["class_name"] for d in json.loads(out)[0]["detections"]] == ["cup"]


def test_python_module_entry_point_with_token_from_the_environment(server):
    env = {**os.environ, "DETECTION_API_TOKEN": TOKEN}
    finished = subprocess.run(
        [sys.executable, "-m", "detection_client", server.url, ASTRONAUT, "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
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
    assert "2 images: 2 done, 0 rejected" in err


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
    code, out, _ = run_cli(capsys, server.url, ASTRONAUT, COFFEE, "--token", TOKEN, "--json", "--json-dir", str(tmp_path))
    assert code == 0
    printed = json.loads(out)
    written = [json.loads((tmp_path / name).read_text()) for name in ("astronaut.json", "coffee.json")]
    assert written == printed


def test_python_api(server, photo_bytes):
    with DetectionClient(server.url, token=TOKEN) as client:
        from_path = client.predict(COFFEE, score_th=0.5, classes=["cup"])
        from_bytes = client.predict(photo_bytes("coffee.jpg"), score_th=0.5, classes=["cup"])
    assert from_path["image"] == {"width": 600, "height": 400}
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
