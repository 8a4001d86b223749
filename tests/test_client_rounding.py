"""The client's COCO, CSV and JSON Lines numbers are rounded as the API rounds them: no 60.599999999999966."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from werkzeug.serving import make_server

from detection_client import rounding
from detection_client.cli import main
from detection_client.coco import COCO_NAMES, CocoCategories, CocoImageIds, coco_document
from detection_client.output import image_record
from detection_client.sinks import CsvFile
from tools.servers import ROOT, serving_in_thread

PHOTOS = ROOT / "tests" / "data" / "photos"
DECIMALS = re.compile(r"-?\d+\.(\d+)")
MANY = ["--score-th", "0.01", "--max-results", "100", "--min-height", "0", "--min-width", "0"]


def most_decimals(text: str) -> int:
    """The most digits after the point of any number written in text."""
    return max((len(m.group(1)) for m in DECIMALS.finditer(text)), default=0)


def record(box: list[float], score: float = 0.9) -> dict:
    detection = {"class_id": 15, "class_name": "cat", "score": score, "box": box, "box_normalized": [0.1] * 4}
    return {"file": "a.jpg", "image": {"width": 640, "height": 480}, "detections": [detection]}


def test_coco_widths_heights_and_areas_are_rounded():
    assert 211.4 - 0.7 != 210.7  # the float artefact the rounding removes
    document, _ = coco_document(
        [record([0.7, 0.7, 211.4, 212.8])], CocoCategories.for_model(COCO_NAMES), CocoImageIds(["a.jpg"])
    )
    [annotation] = document["annotations"]
    assert annotation["bbox"] == [0.7, 0.7, 210.7, 212.1]
    assert annotation["area"] == 44689.47 == round(210.7 * 212.1, 2)
    assert most_decimals(json.dumps(document)) <= 2


def test_csv_and_records_round_numbers_from_anywhere_as_the_api_does(tmp_path):
    unrounded = record([10.04999999, 20.123, 30.0, 40.96], score=0.876543)
    sink = CsvFile(tmp_path / "out.csv")
    sink.image(0, unrounded, True)
    sink.close()
    [row] = list(csv.DictReader((tmp_path / "out.csv").read_text().splitlines()))
    assert (row["score"], row["x1"], row["y1"], row["x2"], row["y2"]) == ("0.8765", "10.0", "20.1", "30.0", "41.0")
    [detection] = image_record("a.jpg", unrounded)["detections"]
    assert detection["score"] == 0.8765 and detection["box"] == [10.0, 20.1, 30.0, 41.0]


def test_the_client_rounds_as_the_server_does(client):
    """The server's answers have exactly the client's declared decimals (the two declarations agree)."""
    photo = io.BytesIO((PHOTOS / "coffee.jpg").read_bytes())
    answer = client.post("/api/predict", data={"image": (photo, "coffee.jpg"), "score_th": "0.01"})
    detections = answer.get_json()["responses"][0]["detections"]
    assert len(detections) > 5
    for d in detections:
        assert rounding.rounded_detection(d) == d
    digits = lambda values, n: max(len(repr(v).split(".")[1]) for v in values) == n
    assert digits([v for d in detections for v in d["box"]], rounding.PIXEL_DECIMALS)
    assert digits([d["score"] for d in detections], rounding.SCORE_DECIMALS)
    assert digits([v for d in detections for v in d["box_normalized"]], rounding.NORMALIZED_DECIMALS)


@pytest.fixture(scope="module")
def url(app):
    """The test app on a loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    with serving_in_thread(server):
        yield f"http://127.0.0.1:{server.server_port}"


def test_files_the_command_writes_hold_no_float_artefacts(url, tmp_path, capsys):
    coco, table = tmp_path / "coco.json", tmp_path / "out.csv"
    photos = [str(PHOTOS / name) for name in ("coffee.jpg", "astronaut.jpg", "grace_hopper.jpg", "motorcycle_left.jpg")]
    code = main(
        [url, *photos, "--coco", str(coco), "--csv", str(table), "--format", "jsonl", "--progress", "off", *MANY]
    )
    out = capsys.readouterr().out
    assert code == 0
    document = json.loads(coco.read_text())
    assert len(document["annotations"]) > 20
    assert most_decimals(json.dumps([a["bbox"] for a in document["annotations"]])) <= rounding.PIXEL_DECIMALS
    assert most_decimals(json.dumps([a["area"] for a in document["annotations"]])) <= 2 * rounding.PIXEL_DECIMALS
    assert most_decimals(table.read_text()) <= rounding.SCORE_DECIMALS
    assert most_decimals(out) <= rounding.NORMALIZED_DECIMALS and len(out.splitlines()) == len(photos)
