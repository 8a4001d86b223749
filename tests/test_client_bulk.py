"""Bulk runs of the `detect` command against a real 2-worker gunicorn: resume after kills, Ctrl-C, COCO output
scored with pycocotools, and --annotate-dir with the server's dependencies made unimportable."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image, ImageDraw
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detection_client.cli import main
from detection_client.coco import class_key
from inference.annotate import class_color
from tools.servers import ROOT, gunicorn_server

pytestmark = pytest.mark.server

COCO_DEV = ROOT / "tests" / "data" / "coco-dev"
IMAGES = 200
CONCURRENCY, BATCH = 4, 4  # at most 16 images in flight when a run is killed
AP_PARAMS = ["--score-th", "0.01", "--nms-iou", "0.65", "--min-height", "0", "--min-width", "0", "--max-results", "100"]


@pytest.fixture(scope="module")
def server():
    """Two workers (the Procfile's command), result cache off so that every image sent is run by the model;
    the faster of the embedded models, to keep the test short."""
    with gunicorn_server(env={"CACHE_BYTES": "0", "MODELS": "yolox_nano"}, workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """IMAGES small distinct PNGs with a few shapes each."""
    folder = tmp_path_factory.mktemp("generated")
    rng = np.random.default_rng(17)
    for i in range(IMAGES):
        image = Image.new("RGB", (96, 72), tuple(int(v) for v in rng.integers(0, 256, 3)))
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x, y = rng.integers(0, 80), rng.integers(0, 56)
            draw.ellipse(
                (x, y, x + rng.integers(8, 40), y + rng.integers(8, 40)),
                fill=tuple(int(v) for v in rng.integers(0, 256, 3)),
            )
        image.save(folder / f"img{i:03d}.png")
    return folder


def images_run(server) -> int:
    """Images the server's model has run so far (all workers), from /metrics."""
    text = requests.get(server.url + "/metrics", timeout=10).text
    return int(float(re.search(r"^inference_duration_seconds_count (\S+)$", text, re.MULTILINE)[1]))


def start(server, images: Path, out: Path, *extra: str) -> subprocess.Popen:
    """`python -m detection_client` writing JSON and PNG files under `out`; stdout and stderr to files there."""
    out.mkdir(exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "detection_client",
        server.url,
        str(images),
        "--json-dir",
        str(out / "json"),
        "--annotate-dir",
        str(out / "png"),
        "--concurrency",
        str(CONCURRENCY),
        "--batch-size",
        str(BATCH),
        "--format",
        "jsonl",
        "--progress",
        "lines",
        "--progress-every",
        "0.5",
        *extra,
    ]
    with (out / "stdout").open("ab") as stdout, (out / "stderr").open("ab") as stderr:
        return subprocess.Popen(argv, cwd=ROOT, stdout=stdout, stderr=stderr)


def wait_for_files(folder: Path, count: int, process: subprocess.Popen, timeout: float = 60) -> None:
    """Until `folder` holds `count` JSON files (the run is then mid-way)."""
    deadline = time.monotonic() + timeout
    while len(list(folder.glob("*.json"))) < count:
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, f"fewer than {count} results after {timeout} s"
        time.sleep(0.02)


def finished(out: Path, images: Path) -> set[str]:
    """Stems whose JSON result (for the image's current bytes) and complete PNG are both written."""
    done = set()
    for path in (out / "json").glob("*.json"):
        record = json.loads(path.read_text())  # a partial file would fail here
        image = images / f"{path.stem}.png"
        png = (out / "png" / f"{path.stem}.png").read_bytes()
        assert record["image"]["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
        assert record["file"] == str(image) and "detections" in record
        assert png.startswith(b"\x89PNG") and png.endswith(b"IEND\xaeB`\x82")
        done.add(path.stem)
    return done


def leftovers(out: Path) -> list[Path]:
    """Temporary files of an interrupted write."""
    return list(out.glob("*/.*.partial"))


def test_killed_twice_and_resumed_every_image_is_done_exactly_once(server, generated, tmp_path):
    before = images_run(server)
    skipped = []
    for stop_at in (40, 120):
        process = start(server, generated, tmp_path)
        wait_for_files(tmp_path / "json", stop_at, process)
        process.kill()  # SIGKILL: no chance to tidy up
        process.wait()
        skipped.append(len(finished(tmp_path, generated)))
    last = start(server, generated, tmp_path)
    assert last.wait(timeout=120) == 0, (tmp_path / "stderr").read_text()

    assert finished(tmp_path, generated) == {f"img{i:03d}" for i in range(IMAGES)}
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [f"img{i:03d}.png" for i in range(IMAGES)]
    assert leftovers(tmp_path) == []
    err = (tmp_path / "stderr").read_text()
    # The last run sent exactly the images not finished before; the server ran an image twice only if it was
    # in flight when a run was killed (at most CONCURRENCY requests of BATCH images each time).
    assert (
        f"{IMAGES} images: {IMAGES - skipped[1]} done, {skipped[1]} skipped (done before), 0 rejected, 0 failed" in err
    )
    assert IMAGES <= images_run(server) - before <= IMAGES + 2 * CONCURRENCY * BATCH
    assert re.search(r"detect: \d+/\d+ images \(\d+%\), [\d.]+ img/s, 0 errors, ETA", err)  # plain progress lines
    # stdout streams what each run answered: whole lines, never an image twice (its files are written before
    # its line, so an image whose line a kill prevented is skipped, not redone, by the next run).
    stems = [Path(json.loads(line)["file"]).stem for line in (tmp_path / "stdout").read_text().splitlines()]
    assert len(stems) == len(set(stems)) >= IMAGES - 2 * CONCURRENCY * BATCH
    assert 0 < skipped[0] < skipped[1] < IMAGES


def test_ctrl_c_stops_after_the_answers_in_flight_with_a_summary(server, generated, tmp_path):
    process = start(server, generated, tmp_path)
    wait_for_files(tmp_path / "json", 20, process)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    err = (tmp_path / "stderr").read_text()
    assert "stopping after the requests in flight" in err and "run the same command again" in err
    done = int(
        re.search(
            rf"{IMAGES} images: (\d+) done, 0 skipped \(done before\), 0 rejected, 0 failed, (\d+) not done", err
        )[1]
    )
    assert leftovers(tmp_path) == []
    assert len(finished(tmp_path, generated)) == done == len(list((tmp_path / "png").iterdir()))
    assert len((tmp_path / "stdout").read_text().splitlines()) == done  # every line whole
    assert 20 <= done < IMAGES


def coco_stats(ground_truth: COCO, detections: COCO) -> np.ndarray:
    """pycocotools' 12 bbox summary figures, quietly."""
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(ground_truth, detections, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats


def test_coco_output_loads_in_pycocotools_and_scores_as_the_servers_answers(server, tmp_path, capsys):
    results = tmp_path / "results.json"
    code = main(
        [
            server.url,
            str(COCO_DEV / "images"),
            "--coco",
            str(results),
            "--progress",
            "off",
            "--format",
            "jsonl",
            *AP_PARAMS,
        ]
    )
    assert code == 0, capsys.readouterr().err
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO(str(COCO_DEV / "instances_val2017_subset.json"))
        from_client = COCO(str(results))  # loads directly: images, categories, scored annotations
    document = json.loads(results.read_text())
    assert {image["id"] for image in document["images"]} == set(ground_truth.getImgIds())  # 000000005001.jpg -> 5001
    assert document["categories"] == [{"id": c["id"], "name": c["name"]} for c in ground_truth.dataset["categories"]]
    client_stats = coco_stats(ground_truth, from_client)
    with contextlib.redirect_stdout(io.StringIO()):
        from_annotations = ground_truth.loadRes(document["annotations"])
    assert np.array_equal(coco_stats(ground_truth, from_annotations), client_stats)

    # The server's own answers, asked one by one with plain requests and converted here, score the same.
    by_name = {class_key(c["name"]): c["id"] for c in ground_truth.dataset["categories"]}
    features = {"score_th": 0.01, "nms_iou": 0.65, "min_height": 0, "min_width": 0, "maxResults": 100}
    direct = []
    for image in ground_truth.dataset["images"]:
        content = (COCO_DEV / "images" / image["file_name"]).read_bytes()
        body = {
            "requests": [
                {"features": [features], "image": {"content": __import__("base64").b64encode(content).decode()}}
            ]
        }
        answer = requests.post(server.url + "/api/predict", json=body, timeout=60).json()
        for d in answer["responses"][0]["detections"]:
            x1, y1, x2, y2 = d["box"]
            direct.append(
                {
                    "image_id": image["id"],
                    "category_id": by_name[class_key(d["class_name"])],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": d["score"],
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):
        from_server = ground_truth.loadRes(direct)
    assert np.array_equal(coco_stats(ground_truth, from_server), client_stats)
    # And the AP the server states for its model (/api/model, measured in process on the same images; the
    # JSON's rounded boxes may move a figure by 0.1).
    stated = requests.get(server.url + "/api/model", timeout=10).json()["coco_dev"]
    assert abs(100 * client_stats[0] - stated["ap"]) <= 0.11 and abs(100 * client_stats[1] - stated["ap50"]) <= 0.11


BLOCK_SERVER_PACKAGES = """
import importlib.abc, sys
BLOCKED = {"onnxruntime", "cv2", "numpy", "flask", "werkzeug", "gunicorn", "inference", "webapp"}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the client must not need it")
sys.meta_path.insert(0, Blocker())
from detection_client.cli import main
code = main(sys.argv[1:])
assert not BLOCKED & {name.partition(".")[0] for name in sys.modules}
sys.exit(code)
"""


def test_annotate_dir_draws_without_the_servers_packages(server, tmp_path):
    astronaut = ROOT / "tests" / "data" / "photos" / "astronaut.jpg"
    finished_run = subprocess.run(
        [
            sys.executable,
            "-c",
            BLOCK_SERVER_PACKAGES,
            server.url,
            str(astronaut),
            "--annotate-dir",
            str(tmp_path),
            "--json-dir",
            str(tmp_path),
            "--csv",
            str(tmp_path / "d.csv"),
            "--coco",
            str(tmp_path / "c.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished_run.returncode == 0, finished_run.stderr
    annotated = np.asarray(Image.open(tmp_path / "astronaut.png").convert("RGB"))
    original = np.asarray(Image.open(astronaut).convert("RGB"))
    assert annotated.shape == original.shape
    person = np.array(class_color(0), np.uint8)  # the page's colour for class 0, as the server's palette says
    assert np.all(annotated == person, axis=2).sum() - np.all(original == person, axis=2).sum() > 1000


def test_bench_client_smoke(server, capsys):
    from tools.bench_client import main as bench

    argv = [
        "--url",
        server.url,
        "--images",
        "4",
        "--concurrency",
        "1",
        "2",
        "--batch",
        "1",
        "2",
        "--repeat",
        "1",
        "--rtt",
        "5",
    ]
    rates = bench(argv)
    assert set(rates) == {(1, 1), (1, 2), (2, 1), (2, 2)} and all(r[0] > 0 for r in rates.values())
    table = capsys.readouterr().out.splitlines()
    assert table[1].split() == ["in", "flight", "batch", "img/s", "x", "baseline", "min-max"] and len(table) == 6
