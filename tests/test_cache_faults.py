"""The local result cache is an optimisation only: a full disk, a read-only, missing or deleted directory and a corrupt
database each cost a recomputation, a log line and cache_errors_total; never an answer, never the start-up."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import diskcache
import pytest
import requests
from prometheus_client import REGISTRY

from tools.servers import gunicorn_server
from webapp import redis_link
from webapp.app import create_app

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ["coffee.jpg", "astronaut.jpg", "chelsea.png", "grace_hopper.jpg"]


def errors(operation: str) -> float:
    return REGISTRY.get_sample_value("cache_errors_total", {"operation": operation}) or 0.0


def make_app(cache_dir: Path):
    return create_app({"TESTING": True, "MODELS": ["yolox_nano"], "RATE_LIMIT": "", "CACHE_DIR": str(cache_dir)})


def predict(app, image: bytes | None = None, sha256: str | None = None):
    reference = {"content": base64.b64encode(image).decode()} if image is not None else {"sha256": sha256}
    return app.test_client().post("/api/predict", json={"requests": [{"image": reference}]})


def fill_disk(directory: Path) -> None:
    """A cache whose database may not grow by one page: SQLite answers "database or disk is full", as on a full disk.

    diskcache keeps `sqlite_*` settings in the database and applies them on every connection, the app's included."""
    cache = diskcache.Cache(str(directory))
    pages = cache._sql("PRAGMA page_count").fetchone()[0]
    cache.close()
    diskcache.Cache(str(directory), sqlite_max_page_count=pages).close()


def corrupt(directory: Path) -> None:
    """Overwrite the database, its write-ahead log and its shared index with bytes that are not SQLite (the same
    files, as a bad disk would: SQLite then reads garbage where it expects pages)."""
    for path in directory.glob(diskcache.core.DBNAME + "*"):
        with path.open("r+b") as file:
            file.write(os.urandom(max(path.stat().st_size, 8192)))


@pytest.fixture
def no_pause(monkeypatch):
    """A failed cache is tried again at once (the 5 s pause would make the tests wait)."""
    monkeypatch.setattr(redis_link, "PAUSE_AFTER_FAILURE_S", 0.0)


def test_a_full_disk_costs_recomputation_then_the_cache_works_again(tmp_path, photo_bytes, caplog, no_pause):
    fill_disk(tmp_path)
    app = make_app(tmp_path)
    before = errors("put")
    images = [photo_bytes(name) for name in PHOTOS]
    assert [predict(app, image).status_code for image in images] == [200] * len(images)
    assert errors("put") >= before + len(images)
    assert "database or disk is full" in caplog.text and "going on without it" in caplog.text
    # Nothing was stored: a reference asks for the bytes, as for any miss.
    assert predict(app, sha256=hashlib.sha256(images[0]).hexdigest()).status_code == 404
    diskcache.Cache(str(tmp_path), sqlite_max_page_count=1 << 30).close()  # room again
    # The page limit is read when a connection opens: the open one fails once more, the one opened after stores.
    assert [predict(app, images[0]).status_code for _ in range(2)] == [200, 200]
    assert predict(app, sha256=hashlib.sha256(images[0]).hexdigest()).status_code == 200
    assert "answers again" in caplog.text


def test_a_cache_directory_that_cannot_be_made_does_not_stop_the_start(tmp_path, photo_bytes, caplog):
    (tmp_path / "file").write_text("not a directory")
    before = errors("open")
    app = make_app(tmp_path / "file" / "cache")
    assert errors("open") == before + 1 and "going on without it" in caplog.text
    assert [predict(app, photo_bytes(name)).status_code for name in PHOTOS[:2]] == [200, 200]


def test_a_corrupt_database_at_start_and_mid_run_costs_no_answer(tmp_path, photo_bytes, caplog, no_pause):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / diskcache.core.DBNAME).write_bytes(os.urandom(8192))
    before = errors("open")
    app = make_app(tmp_path / "bad")
    assert errors("open") >= before + 1 and "file is not a database" in caplog.text
    assert [predict(app, photo_bytes(name)).status_code for name in PHOTOS] == [200] * len(PHOTOS)

    app = make_app(tmp_path / "good")
    first = photo_bytes(PHOTOS[0])
    assert predict(app, first).status_code == 200
    assert predict(app, sha256=hashlib.sha256(first).hexdigest()).status_code == 200  # cached
    before = errors("get") + errors("put")
    corrupt(tmp_path / "good")
    assert [predict(app, photo_bytes(name)).status_code for name in PHOTOS] == [200] * len(PHOTOS)
    assert errors("get") + errors("put") > before


def test_a_cache_directory_deleted_mid_run_is_made_again(tmp_path, photo_bytes, caplog, no_pause):
    app = make_app(tmp_path / "cache")
    first, second = photo_bytes(PHOTOS[0]), photo_bytes(PHOTOS[1])
    assert predict(app, first).status_code == 200
    shutil.rmtree(tmp_path / "cache")
    with caplog.at_level(logging.WARNING):
        assert predict(app, second).status_code == 200
    assert "was removed or replaced" in caplog.text
    assert predict(app, second).status_code == 200  # stored in a cache opened afresh
    assert (tmp_path / "cache" / diskcache.core.DBNAME).exists()
    assert predict(app, sha256=hashlib.sha256(second).hexdigest()).status_code == 200


READ_ONLY_CHILD = """
import base64, hashlib, json, sys
from tools.servers import gunicorn_server
from webapp.app import create_app
app = create_app({"TESTING": True, "MODELS": ["yolox_nano"], "RATE_LIMIT": "", "CACHE_DIR": sys.argv[1]})
client = app.test_client()
image = open(sys.argv[2], "rb").read()
statuses = [client.post("/api/predict", json={"requests": [{"image": {"content": base64.b64encode(image).decode()}}]}
                        ).status_code for _ in range(2)]
print(json.dumps(statuses))
"""


@pytest.mark.timeout(120)
def test_a_read_only_cache_directory_does_not_stop_the_start(tmp_path):
    """A real read-only file system (a read-only bind mount in a user namespace: chmod does not stop root)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"], check=False).returncode != 0:
        pytest.skip("user namespaces are not available here")
    cache = tmp_path / "cache"
    diskcache.Cache(str(cache)).close()  # an existing cache, as after a restart
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    photo = ROOT / "tests" / "data" / "photos" / PHOTOS[0]
    child = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            script,
            "sh",
            str(cache),
            sys.executable,
            "-c",
            READ_ONLY_CHILD,
            str(cache),
            str(photo),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert json.loads(child.stdout.strip().splitlines()[-1]) == [200, 200]
    assert "result cache: the cache directory" in child.stderr and "going on without it" in child.stderr


def metric_total(url: str, name: str) -> float:
    """The sum of a metric's samples over its labels, from GET /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(url + "/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def predict_over_http(url: str, image: bytes) -> int:
    """One prediction on a new connection (so the workers take turns); its status."""
    body = {"requests": [{"image": {"content": base64.b64encode(image).decode()}}]}
    with requests.Session() as session:
        return session.post(url + "/api/predict", json=body, timeout=60).status_code


@pytest.mark.server
@pytest.mark.timeout(180)
@pytest.mark.parametrize("fault", ["not a directory", "corrupt database", "disk full", "deleted mid-run"])
def test_gunicorn_starts_and_answers_every_prediction_whatever_the_cache_directory(tmp_path, photo_bytes, fault):
    cache = tmp_path / "cache"
    if fault == "not a directory":
        (tmp_path / "file").write_text("")
        cache = tmp_path / "file" / "cache"
    elif fault == "corrupt database":
        cache.mkdir()
        (cache / diskcache.core.DBNAME).write_bytes(os.urandom(8192))
    elif fault == "disk full":
        fill_disk(cache)
    images = [photo_bytes(name) for name in PHOTOS]
    with gunicorn_server(env={"CACHE_DIR": str(cache)}, workers=2) as server:
        statuses = [predict_over_http(server.url, image) for image in images]
        if fault == "deleted mid-run":
            shutil.rmtree(cache)
            statuses += [predict_over_http(server.url, image) for image in images * 2]
        errors_counted = metric_total(server.url, "cache_errors_total")
        log = server.log()
    assert statuses == [200] * len(statuses)
    assert errors_counted >= 1
    assert "result cache: the cache directory" in log and "going on without it" in log
    assert "Traceback" not in log and "Worker failed to boot" not in log


def test_a_cache_folder_others_can_open_is_not_used(tmp_path, caplog):
    """A folder others can write in (a planted database would decide answers, and is unpickled) is a fault: no
    cache; the folder the cache makes itself is its user's alone."""
    from webapp.result_cache import LocalCache

    writable_by_all = tmp_path / "writable-by-all"
    writable_by_all.mkdir(mode=0o777)
    writable_by_all.chmod(0o777)
    cache = LocalCache(writable_by_all, 1 << 20)
    assert cache.get("m" * 64, "i" * 64) is None
    assert not (writable_by_all / "cache.db").exists(), "the cache opened a database in a folder others can write"
    assert "chmod go-w" in caplog.text
    private = tmp_path / "private"
    cache = LocalCache(private, 1 << 20)
    cache.get("m" * 64, "i" * 64)
    assert (private / "cache.db").exists() and private.stat().st_mode & 0o777 == 0o700
