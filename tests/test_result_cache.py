"""The per-image result cache and image-by-sha256 references: exact answers, clear misses, bounded size."""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import multiprocessing

import pytest
from PIL import Image

from webapp.app import create_app
from webapp.result_cache import LocalCache

PARAMETER_SETS = [
    {"score_th": score_th, "nms_iou": nms_iou, "min_height": min_size, "min_width": min_size, "maxResults": max_results}
    for score_th, nms_iou, min_size, max_results in itertools.product(
        (0.01, 0.2, 0.5), (0.1, 0.6), (0.0, 0.05), (3, 100)
    )
]


def by_content(image: bytes, features: dict | None = None) -> dict:
    return {"image": {"content": base64.b64encode(image).decode()}, "features": [features or {}]}


def by_sha256(image: bytes, features: dict | None = None) -> dict:
    return {"image": {"sha256": hashlib.sha256(image).hexdigest()}, "features": [features or {}]}


@pytest.fixture(scope="module")
def cached_app(tmp_path_factory):
    return create_app(
        {"TESTING": True, "MODELS": ["yolox_nano", "deimv2_femto"], "CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    )


@pytest.fixture(scope="module")
def uncached_app():
    return create_app({"TESTING": True, "MODELS": ["yolox_nano", "deimv2_femto"], "CACHE_BYTES": 0})


def slots(app, *entries) -> list[dict]:
    response = app.test_client().post("/api/predict", json={"requests": list(entries)})
    return response.get_json()["responses"]


def without_timings(slot: dict) -> dict:
    return {key: value for key, value in slot.items() if key != "timings_ms"}


@pytest.mark.slow  # every parameter set through two apps and both models
@pytest.mark.parametrize("model", ["yolox_nano", "deimv2_femto"])
def test_cached_answers_equal_uncached_ones_for_many_parameter_sets(cached_app, uncached_app, photo_bytes, model):
    image = photo_bytes("motorcycle_left.jpg")
    first = slots(cached_app, by_content(image, {"model": model}))[0]
    assert first["image"]["sha256"] == hashlib.sha256(image).hexdigest()
    for features in PARAMETER_SETS:
        features = {**features, "model": model}
        cached = slots(cached_app, by_sha256(image, features))[0]
        fresh = slots(uncached_app, by_content(image, features))[0]
        assert without_timings(cached) == without_timings(fresh), features
    # The class filter too, by name and by id, through the cache.
    for classes in (["motorcycle"], [0, "motorbike"], ["Dining Table"]):
        features = {"score_th": 0.05, "classes": classes, "model": model}
        assert without_timings(slots(cached_app, by_sha256(image, features))[0]) == without_timings(
            slots(uncached_app, by_content(image, features))[0]
        )


def test_a_cache_hit_does_not_run_the_model(cached_app, photo_bytes, monkeypatch):
    image = photo_bytes("coffee.jpg")
    slots(cached_app, by_content(image))
    detector = cached_app.extensions["models"].default.detector
    monkeypatch.setattr(detector, "candidates_from_bytes", lambda *a, **k: pytest.fail("the model ran on a hit"))
    hit = slots(cached_app, by_sha256(image, {"score_th": 0.6}))[0]
    again_with_bytes = slots(cached_app, by_content(image, {"score_th": 0.6}))[0]
    assert without_timings(hit) == without_timings(again_with_bytes)
    assert set(hit["timings_ms"]) == {"select"}  # no decode, no inference


def test_an_unknown_hash_asks_for_the_bytes(cached_app):
    unknown = {"image": {"sha256": "ab" * 32}}
    response = cached_app.test_client().post("/api/predict", json={"requests": [unknown]})
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "image_not_cached" and "send the image bytes" in error["message"]


def test_a_hash_known_for_one_model_is_unknown_for_another(cached_app, photo_bytes):
    image = photo_bytes("chelsea.png")
    slots(cached_app, by_content(image, {"model": "yolox_nano"}))
    assert "detections" in slots(cached_app, by_sha256(image, {"model": "yolox_nano"}))[0]
    assert slots(cached_app, by_sha256(image, {"model": "deimv2_femto"}))[0]["error"]["code"] == "image_not_cached"


def test_in_a_batch_a_miss_is_its_own_slot(cached_app, photo_bytes):
    image = photo_bytes("astronaut.jpg")
    answer = slots(cached_app, by_content(image), {"image": {"sha256": "cd" * 32}}, by_sha256(image))
    assert "detections" in answer[0] and "detections" in answer[2]
    assert answer[1]["error"]["status"] == 404


@pytest.mark.parametrize(
    ("image", "code"),
    [
        ({"sha256": "xyz"}, "invalid_sha256"),
        ({"sha256": "ab" * 31}, "invalid_sha256"),
        ({"sha256": 12}, "malformed_request"),
        ({"sha256": None}, "malformed_request"),
        ({}, "malformed_request"),
    ],
)
def test_garbage_hashes_are_refused_clearly(cached_app, image, code):
    response = cached_app.test_client().post("/api/predict", json={"requests": [{"image": image}]})
    assert response.status_code in (400, 422)
    assert response.get_json()["error"]["code"] == code


def test_annotate_by_hash_needs_the_bytes(cached_app, photo_bytes):
    image = photo_bytes("coffee.jpg")
    slots(cached_app, by_content(image))
    error = slots(cached_app, by_sha256(image, {"annotate": True}))[0]["error"]
    assert error["status"] == 422 and "annotate needs the image bytes" in error["message"]


def test_multipart_by_hash(cached_app, photo_bytes):
    image = photo_bytes("coffee.jpg")
    client = cached_app.test_client()
    first = client.post("/api/predict", data={"image": (io.BytesIO(image), "c.jpg"), "score_th": "0.5"}).get_json()
    sha256 = first["responses"][0]["image"]["sha256"]
    again = client.post("/api/predict", data={"image_sha256": sha256, "score_th": "0.5"}).get_json()
    assert again["responses"][0]["detections"] == first["responses"][0]["detections"]
    missing = client.post("/api/predict", data={"image_sha256": "ef" * 32})
    assert missing.status_code == 404


def test_cache_off_means_every_reference_misses(uncached_app, photo_bytes):
    image = photo_bytes("coffee.jpg")
    slots(uncached_app, by_content(image))
    assert slots(uncached_app, by_sha256(image))[0]["error"]["code"] == "image_not_cached"


def _fill(directory: str, start: int) -> None:
    """Another process writing the same cache (as a second gunicorn worker would)."""
    import numpy as np

    from inference.candidates import Candidates

    cache = LocalCache(directory, 2_000_000)
    for i in range(start, start + 100):
        scores = np.full((200, 80), 0.01, np.float32)
        cache.put("m" * 64, f"{i:064x}", Candidates.from_class_scores(np.zeros((200, 4), np.float32), scores, (9, 9)))


@pytest.mark.slow  # a load run of concurrent writers
def test_cache_stays_under_its_bound_with_concurrent_writers(tmp_path):
    """Two processes write 200 entries of ~190 KB each into a 2 MB cache: it stays bounded and readable."""
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_fill, args=(str(tmp_path), start)) for start in (0, 100)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    cache = LocalCache(tmp_path, 2_000_000)
    assert cache.volume() <= 2_000_000 * 1.25  # diskcache culls after a write; a little slack for its metadata
    newest = cache.get("m" * 64, f"{199:064x}") or cache.get("m" * 64, f"{99:064x}")
    assert newest is not None and newest.image_size == (9, 9)


def test_a_damaged_entry_is_a_miss_not_an_error(tmp_path):
    cache = LocalCache(tmp_path, 1_000_000)
    cache._cache.set("0123456789abcdef:" + "ab" * 32, b"garbage")
    assert cache.get("0123456789abcdef" + "0" * 48, "ab" * 32) is None


def test_bigger_photos_are_decoded_at_the_models_scale(cached_app):
    """A 48 MP JPEG is accepted (decoded at 1/8) under the default 40 MP limit."""
    photo = Image.new("RGB", (8064, 6048), (120, 130, 140))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=40)
    slot = slots(cached_app, by_content(buffer.getvalue()))[0]
    assert slot["image"]["width"] == 8064 and slot["image"]["height"] == 6048
