"""The client's per-image files: written atomically, and only complete, matching ones count as done on a rerun."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from PIL import Image

from detection_client.files import OutputFiles, atomic_write, remove_temporaries


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture()
def files(tmp_path) -> OutputFiles:
    return OutputFiles(tmp_path / "json", tmp_path / "png")


def result(name: str, data: bytes) -> dict:
    return {
        "file": name,
        "image": {"width": 4, "height": 3, "sha256": hashlib.sha256(data).hexdigest()},
        "detections": [],
    }


def test_a_finished_image_is_recognised(files):
    files.write("a", result("in/a.jpg", b"bytes"), png_bytes())
    assert files.done_record("a", "in/a.jpg", hashlib.sha256(b"bytes").hexdigest()) == result("in/a.jpg", b"bytes")


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: f.json_path("a").write_text('{"file": "in/a.jpg", "detections": ['),  # cut short
        lambda f: f.json_path("a").write_text("garbage \x00"),
        lambda f: f.json_path("a").write_text(json.dumps(result("other.jpg", b"bytes"))),  # another image's
        lambda f: f.json_path("a").write_text(json.dumps(result("in/a.jpg", b"changed since"))),
        lambda f: f.json_path("a").write_text(json.dumps({"file": "in/a.jpg", "error": {"status": 422}})),
        lambda f: f.png_path("a").write_bytes(png_bytes()[:-5]),  # PNG cut short
        lambda f: f.png_path("a").unlink(),
    ],
)
def test_damaged_missing_or_outdated_files_mean_redo(files, damage):
    files.write("a", result("in/a.jpg", b"bytes"), png_bytes())
    damage(files)
    assert files.done_record("a", "in/a.jpg", hashlib.sha256(b"bytes").hexdigest()) is None


def test_annotations_alone_count_when_complete(tmp_path):
    files = OutputFiles(None, tmp_path)
    files.write("a", result("a.jpg", b"x"), png_bytes())
    assert files.done_record("a", "a.jpg", None) == {}
    assert files.done_record("b", "b.jpg", None) is None


def test_atomic_write_leaves_nothing_behind_when_it_fails(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        atomic_write(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_temporaries_of_a_killed_run_are_removed_and_nothing_else(tmp_path):
    (tmp_path / ".a.json.x1y2.partial").write_text("half")
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "notes.partial").write_text("not ours: no leading dot")
    assert remove_temporaries(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "notes.partial"]
