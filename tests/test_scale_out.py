"""Several instances as one: the result cache and the rate limits in a real Redis, two gunicorn instances behind a
real nginx (round-robin, as a PaaS router), clients from different loopback addresses; a Redis killed mid-test."""

from __future__ import annotations

import base64
import hashlib
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import numpy as np
import pytest
import requests
from openapi_schema_validator import OAS30Validator
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from inference.candidates import Candidates
from tools.scale_parts import nginx_binary, nginx_round_robin, redis_server, session_from
from tools.servers import free_port, gunicorn_server
from webapp import config as config_module
from webapp.app import create_app
from webapp.rate_limits import REFUSAL_HOLD_S, RateLimits
from webapp.redis_link import PAUSE_AFTER_FAILURE_S
from webapp.result_cache import KEY_PREFIX, RedisCache, cache_key

pytestmark = pytest.mark.skipif(
    not (nginx_binary() and shutil.which("redis-server")),
    reason="redis-server and nginx are installed by make test's system-packages",
)

LIMIT = 6  # images per client per hour on the two instances: small, so tests reach it in a few requests
TTL_S = 120


def sha256(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest()


def by_bytes(image: bytes) -> dict:
    return {"requests": [{"image": {"content": base64.b64encode(image).decode()}}]}


def by_sha256(*images: bytes) -> dict:
    return {"requests": [{"image": {"sha256": sha256(image)}} for image in images]}


def metric(url: str, name: str, **labels: str) -> float:
    """One sample of an instance's /metrics (0 when absent)."""
    text = requests.get(url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def without_timings(slot: dict) -> dict:
    return {key: value for key, value in slot.items() if key != "timings_ms"}


@pytest.fixture(scope="module")
def redis():
    with redis_server() as running:
        yield running


@pytest.fixture(scope="module")
def instances(redis, tmp_path_factory):
    """Two instances (one worker each) sharing the Redis, each with its own local cache folder (unused)."""
    with ExitStack() as stack:
        running = []
        for name in ("a", "b"):
            env = {
                "CACHE_URL": redis.url,
                "CACHE_TTL_S": str(TTL_S),
                "RATE_LIMIT": f"{LIMIT} per hour",
                "TRUSTED_PROXIES": "1",
                "MODELS": "yolox_nano",
                "CACHE_DIR": str(tmp_path_factory.mktemp(name)),
            }
            running.append(stack.enter_context(gunicorn_server(env=env, workers=1)))
        yield running


@pytest.fixture(scope="module")
def router(instances):
    with nginx_round_robin([server.url for server in instances]) as running:
        yield running


# --- the shared cache ------------------------------------------------------------------------------------------


@pytest.mark.server  # Redis, nginx and gunicorn on loopback
def test_an_image_sent_to_one_instance_is_answered_by_the_other_by_its_sha256(instances, redis, photo_bytes):
    a, b = instances
    image = photo_bytes("astronaut.jpg")
    with session_from("127.0.0.10") as client:
        sent = client.post(a.url + "/api/predict", json=by_bytes(image), timeout=30)
        assert sent.status_code == 200, sent.text
        hits_before = metric(b.url, "cache_hits_total")
        again = client.post(b.url + "/api/predict", json=by_sha256(image), timeout=30)
    assert again.status_code == 200, again.text  # b never saw the bytes
    assert without_timings(again.json()["responses"][0]) == without_timings(sent.json()["responses"][0])
    assert metric(b.url, "cache_hits_total") == hits_before + 1
    model_sha256 = requests.get(a.url + "/api/model", timeout=10).json()["sha256"]
    key = KEY_PREFIX + cache_key(model_sha256, sha256(image))
    assert 0 < int(redis.command("TTL", key)) <= TTL_S  # every entry expires
    assert int(redis.command("MEMORY", "USAGE", key)) < 64 * 1024  # compact: Candidates.to_bytes()


@pytest.mark.server  # Redis, nginx and gunicorn on loopback
def test_sha256_requests_through_the_router_hit_either_instance(router, instances, photo_bytes):
    image = photo_bytes("coffee.jpg")
    with session_from("127.0.0.11") as client:
        assert client.post(router.url + "/api/predict", json=by_bytes(image), timeout=30).status_code == 200
        answered_by = [metric(server.url, "cache_hits_total") for server in instances]
        for _ in range(4):
            assert client.post(router.url + "/api/predict", json=by_sha256(image), timeout=30).status_code == 200
    assert all(metric(server.url, "cache_hits_total") >= before + 2 for server, before in zip(instances, answered_by))


# --- limits counted once for both instances --------------------------------------------------------------------


def predict_status(client: requests.Session, url: str, body: dict, headers: dict | None = None) -> requests.Response:
    return client.post(url + "/api/predict", json=body, headers=headers or {}, timeout=30)


@pytest.mark.server  # Redis, nginx and gunicorn on loopback
def test_limits_hold_across_both_instances_and_other_clients_are_served(router, instances, photo_bytes):
    image = photo_bytes("grace_hopper.jpg")
    served_before = [metric(s.url, "http_requests_total", endpoint="api.predict", status="200") for s in instances]
    with session_from("127.0.0.2") as greedy, session_from("127.0.0.3") as other:
        assert predict_status(greedy, router.url, by_bytes(image)).status_code == 200
        statuses = [predict_status(greedy, router.url, by_sha256(image)).status_code for _ in range(LIMIT - 1)]
        assert statuses == [200] * (LIMIT - 1)
        refused = [predict_status(greedy, router.url, by_sha256(image)) for _ in range(2)]  # one on each instance
        # What the client writes in X-Forwarded-For is left of the router's entry: not trusted.
        forged = predict_status(greedy, router.url, by_sha256(image), {"X-Forwarded-For": "198.51.100.7"})
        served = predict_status(other, router.url, by_sha256(image))
    served_after = [metric(s.url, "http_requests_total", endpoint="api.predict", status="200") for s in instances]
    assert all(after - before >= 2 for before, after in zip(served_before, served_after))  # both instances counted
    for answer in [*refused, forged]:
        assert answer.status_code == 429
        assert answer.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(answer.headers["Retry-After"]) <= 3600
    assert served.status_code == 200


@pytest.mark.server  # Redis, nginx and gunicorn on loopback
def test_a_refusal_is_held_while_the_worker_serves_other_clients(router, photo_bytes):
    image = photo_bytes("grace_hopper.jpg")
    with session_from("127.0.0.16") as hammering, session_from("127.0.0.17") as other:
        assert predict_status(other, router.url, by_bytes(image)).status_code == 200  # cached for the sha256s below
        for _ in range(LIMIT):
            predict_status(hammering, router.url, by_sha256(image))
        with ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            refusal = pool.submit(predict_status, hammering, router.url, by_sha256(image))
            time.sleep(0.1)  # the refusal is being held
            served = predict_status(other, router.url, by_sha256(image))
            served_at = time.monotonic() - started
            refused_at = (refusal.result(), time.monotonic() - started)[1]
    assert served.status_code == 200 and refusal.result().status_code == 429
    # A client that ignores Retry-After gets one refusal per connection per REFUSAL_HOLD_S at most...
    assert refused_at >= REFUSAL_HOLD_S
    # ...and the hold is a cooperative wait: the other client was answered meanwhile, by either instance.
    assert served_at < refused_at


@pytest.mark.server  # Redis, nginx and gunicorn on loopback
def test_each_image_of_a_batch_counts(router, photo_bytes):
    image = photo_bytes("rocket.jpg")
    with session_from("127.0.0.4") as sender, session_from("127.0.0.5") as batcher:
        assert predict_status(sender, router.url, by_bytes(image)).status_code == 200
        assert predict_status(batcher, router.url, by_sha256(*[image] * 4)).status_code == 200  # 4 of 6 used
        assert [predict_status(batcher, router.url, by_sha256(image)).status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.server  # Redis, nginx and gunicorn on loopback
def test_health_readiness_and_metrics_are_never_limited(router):
    unknown = {"requests": [{"image": {"sha256": "0" * 64}}]}  # 404 image_not_cached, but it counts
    with session_from("127.0.0.7") as greedy:
        assert [predict_status(greedy, router.url, unknown).status_code for _ in range(LIMIT + 1)] == [404] * LIMIT + [
            429
        ]
        for path in ("/healthz", "/readyz", "/metrics", "/api/model"):
            assert greedy.get(router.url + path, timeout=10).status_code == 200, path


# --- Redis killed mid-test -------------------------------------------------------------------------------------


@pytest.mark.server  # Redis, nginx and gunicorn on loopback
def test_a_redis_outage_costs_the_cache_not_the_answers(instances, redis, photo_bytes):
    a, b = instances
    first, second, third = (photo_bytes(name) for name in ("chelsea.png", "motorcycle_left.jpg", "retina.jpg"))
    with session_from("127.0.0.6") as client:
        assert predict_status(client, a.url, by_bytes(first)).status_code == 200
        assert predict_status(client, b.url, by_sha256(first)).status_code == 200
        errors_before, misses_before = (
            metric(a.url, "cache_errors_total", operation="get"),
            metric(a.url, "cache_misses_total"),
        )
        redis.kill()
        try:
            assert [predict_status(client, a.url, by_bytes(second)).status_code for _ in range(2)] == [200, 200]
            not_cached = predict_status(client, b.url, by_sha256(second))  # nothing was stored: send the bytes
            assert not_cached.status_code == 404 and not_cached.json()["error"]["code"] == "image_not_cached"
            assert predict_status(client, b.url, by_bytes(second)).status_code == 200
            assert metric(a.url, "cache_errors_total", operation="get") >= errors_before + 1
            assert metric(a.url, "cache_misses_total") >= misses_before + 2
            assert metric(a.url, "rate_limit_errors_total") >= 1
            assert f"Redis at 127.0.0.1:{redis.port}/0 failed" in a.log()
        finally:
            redis.start()
        time.sleep(PAUSE_AFTER_FAILURE_S + 0.5)  # each worker tries Redis again after its pause
        assert predict_status(client, a.url, by_bytes(third)).status_code == 200
        assert predict_status(client, b.url, by_sha256(third)).status_code == 200  # shared again
    assert f"Redis at 127.0.0.1:{redis.port}/0 answers again" in a.log()


# --- in process: who a client is, the 429, the defaults, the cache's failure path ------------------------------


def limited_app(**config) -> object:
    """An app without models (predictions answer 503 after the limit check), limited to one image per hour."""
    return create_app({"TESTING": True, "LOAD_MODEL": False, "RATE_LIMIT": "1 per hour", **config}).test_client()


def test_with_tokens_each_token_has_its_own_budget_and_bad_tokens_count_by_address():
    client = limited_app(API_TOKENS=["token-a", "token-b"])
    post = lambda token, address="10.0.0.1": client.post(
        "/api/predict", json={}, headers={"X-Api-Token": token}, environ_base={"REMOTE_ADDR": address}
    )
    assert post("token-a").status_code == 503  # admitted: no model loaded in this app
    refused = post("token-a", address="10.0.0.2")  # the token, not the address, is the client
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
    assert refused.json["error"]["code"] == "rate_limited" and "RATE_LIMIT" in refused.json["error"]["message"]
    as_bearer = client.post("/api/predict", json={}, headers={"Authorization": "Bearer token-a"})
    assert as_bearer.status_code == 429  # the same token, sent the way Prometheus sends it: the same client
    assert post("token-b").status_code == 503
    assert post("not-a-token", address="10.0.0.3").status_code == 401  # counted by its address...
    assert post("another-guess", address="10.0.0.3").status_code == 429  # ...so guessing tokens is limited too


def test_the_429_is_the_one_the_openapi_document_describes():
    client = limited_app()
    document = client.get("/api/openapi.json").get_json()
    assert [client.post("/api/predict", json={}).status_code for _ in range(2)] == [503, 429]
    refused = client.post("/", json={})
    assert refused.status_code == 429
    for path in ("/api/predict", "/"):
        documented = document["paths"][path]["post"]["responses"]["429"]
        assert documented == {"$ref": "#/components/responses/RateLimited"}
    rate_limited = document["components"]["responses"]["RateLimited"]
    assert "Retry-After" in rate_limited["headers"] and int(refused.headers["Retry-After"]) >= 1
    schema = rate_limited["content"]["application/json"]["schema"]
    OAS30Validator({**schema, "components": document["components"]}).validate(refused.get_json())


@pytest.mark.parametrize(("trusted", "second_status"), [(0, 429), (1, 503)])
def test_x_forwarded_for_is_trusted_only_behind_configured_proxies(trusted, second_status):
    client = limited_app(TRUSTED_PROXIES=trusted)
    post = lambda forwarded: client.post(
        "/api/predict", json={}, headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert post("203.0.113.1").status_code == 503
    assert post("198.51.100.1, 203.0.113.2").status_code == second_status  # another client only via a trusted proxy


def test_limits_off_and_garbage_settings(monkeypatch):
    client = create_app({"TESTING": True, "LOAD_MODEL": False, "RATE_LIMIT": ""}).test_client()
    assert [client.post("/api/predict", json={}).status_code for _ in range(3)] == [503] * 3
    for name, value in (
        ("RATE_LIMIT", "lots"),
        ("RATE_LIMIT", "5 per fortnight"),
        ("CACHE_URL", "http://127.0.0.1:6379"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(config_module.ConfigError, match=name):
            config_module.from_environment()
        monkeypatch.delenv(name)


def test_the_default_limit_admits_one_person_using_the_page(monkeypatch):
    monkeypatch.delenv("RATE_LIMIT", raising=False)
    limits = RateLimits(config_module.from_environment()["RATE_LIMIT"], "")
    person = "ip:192.0.2.1"
    slider_drag = [limits.admit(person) for _ in range(60)]  # a second of dragging: one request per frame
    gallery = limits.admit(person)  # then 100 photos dropped at once, in batches of 16
    limits.charge(person, 99)
    camera = [limits.admit(person) for _ in range(30)]  # and the camera for a few seconds
    assert slider_drag == [0] * 60 and gallery == 0 and camera == [0] * 30


def test_an_unreachable_redis_is_a_miss_then_skipped_for_a_pause(caplog):
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", ttl_s=60)  # nothing listens there
    errors = lambda: REGISTRY.get_sample_value("cache_errors_total", {"operation": "get"}) or 0.0
    before = errors()
    assert cache.get("m" * 64, "i" * 64) is None
    cache.put("m" * 64, "i" * 64, Candidates.from_class_scores(np.zeros((0, 4)), np.zeros((0, 80)), (4, 3)))
    assert cache.get("m" * 64, "i" * 64) is None
    assert errors() == before + 1  # the put and the second get were skipped: one failure per pause
    assert sum("going on without it" in record.getMessage() for record in caplog.records) == 1


@pytest.mark.server  # Redis, nginx and gunicorn on loopback
def test_an_unusable_redis_entry_is_a_miss(redis):
    cache = RedisCache(redis.url, ttl_s=60)
    redis.command("SET", KEY_PREFIX + cache_key("m" * 64, "j" * 64), "not candidates")
    assert cache.get("m" * 64, "j" * 64) is None


def test_in_memory_limits_start_no_thread_per_request_and_still_count():
    """The in-memory counters sweep expired keys inline (a thread per request cost ~0.4 ms) and still refuse."""
    import threading

    from webapp.limits_seam import SweptMemoryStorage

    storage = SweptMemoryStorage()
    before = threading.active_count()
    for _ in range(50):
        storage.incr("client", expiry=60)
    assert threading.active_count() == before
    assert storage.get("client") == 50
    storage.incr("short", expiry=0.01)
    import time

    time.sleep(0.02)
    storage._next_sweep = 0.0
    storage.incr("other", expiry=60)  # a hit sweeps the expired key away
    assert "short" not in storage.storage
