"""With API tokens, the result cache keeps clients apart: a client reaches only images it sent, and nothing in an
answer (status, body, timings) tells it what another client sent."""

from __future__ import annotations

import base64
import hashlib
import json

import diskcache
import pytest

from webapp.app import create_app

MODELS = ["yolox_nano", "deimv2_femto"]
ALICE, BOB = {"X-Api-Token": "alice-token"}, {"X-Api-Token": "bob-token"}


@pytest.fixture
def tenants_app(tmp_path):
    return create_app(
        {
            "TESTING": True,
            "MODELS": MODELS,
            "RATE_LIMIT": "",
            "API_TOKENS": ["alice-token", "bob-token"],
            "CACHE_DIR": str(tmp_path / "cache"),
        }
    )


def by_bytes(image: bytes, **features) -> dict:
    return {"requests": [{"image": {"content": base64.b64encode(image).decode()}, "features": [features]}]}


def by_sha256(sha256: str, **features) -> dict:
    return {"requests": [{"image": {"sha256": sha256}, "features": [features]}]}


def post(app, headers: dict, body: dict):
    return app.test_client().post("/api/predict", json=body, headers=headers)


def with_hash_masked(answer, sha256: str) -> tuple[int, dict]:
    """Status and body with the hash asked about replaced and the request's total time left out, so answers about
    two hashes can be compared."""
    body = json.loads(answer.get_data(as_text=True).replace(sha256, "<sha256>"))
    assert set(body.pop("timings_ms")) == {"total"}
    return answer.status_code, body


def shape(value):
    """The keys of a JSON answer at every level (values left out): what a client could tell apart besides values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def test_another_clients_image_is_not_cached_for_bob_exactly_as_one_never_sent(tenants_app, photo_bytes):
    sent, never = photo_bytes("coffee.jpg"), photo_bytes("astronaut.jpg")
    sent_sha, never_sha = hashlib.sha256(sent).hexdigest(), hashlib.sha256(never).hexdigest()
    assert post(tenants_app, ALICE, by_bytes(sent, model="yolox_nano")).status_code == 200
    assert post(tenants_app, ALICE, by_sha256(sent_sha, model="yolox_nano")).status_code == 200  # her own: cached
    for model in [None, *MODELS]:  # asking per model tells bob nothing either
        features = {"model": model} if model else {}
        of_alice = post(tenants_app, BOB, by_sha256(sent_sha, **features))
        of_nobody = post(tenants_app, BOB, by_sha256(never_sha, **features))
        assert of_alice.status_code == 404 and of_alice.get_json()["error"]["code"] == "image_not_cached"
        assert with_hash_masked(of_alice, sent_sha) == with_hash_masked(of_nobody, never_sha), model
    form = tenants_app.test_client().post("/api/predict", data={"image_sha256": sent_sha}, headers=BOB)
    assert form.status_code == 404


def test_bobs_upload_of_alices_bytes_is_computed_and_answered_as_a_cold_miss(tenants_app, photo_bytes, monkeypatch):
    image, cold_image = photo_bytes("coffee.jpg"), photo_bytes("grace_hopper.jpg")
    assert post(tenants_app, ALICE, by_bytes(image)).status_code == 200
    detector = tenants_app.extensions["models"].default.detector
    runs = []
    original = detector.candidates_from_bytes
    monkeypatch.setattr(detector, "candidates_from_bytes", lambda *a, **k: runs.append(1) or original(*a, **k))
    bobs = post(tenants_app, BOB, by_bytes(image)).get_json()
    cold = post(tenants_app, BOB, by_bytes(cold_image)).get_json()
    assert len(runs) == 2  # the model ran for bob: alice's entry was not used, so its time cannot show
    assert shape(bobs) == shape(cold)
    assert set(bobs["responses"][0]["timings_ms"]) == set(cold["responses"][0]["timings_ms"]) >= {"decode", "inference"}
    # Bob's own entry now answers his re-query; alice's is still hers.
    sha256 = hashlib.sha256(image).hexdigest()
    assert post(tenants_app, BOB, by_sha256(sha256)).status_code == 200
    assert post(tenants_app, ALICE, by_sha256(sha256)).status_code == 200
    assert len(runs) == 2


def test_with_tokens_the_cache_holds_no_plain_image_hash(tenants_app, tmp_path, photo_bytes):
    image = photo_bytes("chelsea.png")
    assert post(tenants_app, ALICE, by_bytes(image)).status_code == 200
    keys = list(diskcache.Cache(str(tmp_path / "cache")).iterkeys())
    assert keys and not any(hashlib.sha256(image).hexdigest() in key for key in keys)


def test_without_tokens_every_client_shares_the_cache(tmp_path, photo_bytes):
    """The documented model of an open server: anyone holding the bytes' sha256 may re-query them."""
    app = create_app({"TESTING": True, "MODELS": ["yolox_nano"], "RATE_LIMIT": "", "CACHE_DIR": str(tmp_path)})
    image = photo_bytes("coffee.jpg")
    assert post(app, {}, by_bytes(image)).status_code == 200
    assert post(app, {"X-Api-Token": "anything"}, by_sha256(hashlib.sha256(image).hexdigest())).status_code == 200
