"""Every list and string of a request is bounded where it is parsed: a huge class list costs a 422, not a worker."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from pathlib import Path

import pytest
import requests

from inference import labels
from inference.labels import class_lookup, coco_class_names
from inference.params import REQUEST_LIMITS
from tools.servers import gunicorn_server, worker_pids

NAME = "dog_cats"  # not a class: a request that got past the limit would be refused for it, by another message


def body(content: bytes, classes: list, **features) -> bytes:
    """A JSON prediction body with one image and a class filter."""
    entry = {"image": {"content": base64.b64encode(content).decode()}, "features": [{"classes": classes, **features}]}
    return json.dumps({"requests": [entry]}, separators=(",", ":")).encode()


def test_one_name_more_than_the_limit_is_a_422_in_json_and_form(client, photo_bytes):
    image = photo_bytes("coffee.jpg")
    at_limit = client.post(
        "/api/predict", data=body(image, ["cup"] * REQUEST_LIMITS.classes), content_type="application/json"
    )
    over = client.post(
        "/api/predict", data=body(image, ["cup"] * (REQUEST_LIMITS.classes + 1)), content_type="application/json"
    )
    form = client.post(
        "/api/predict",
        data={"image": (io.BytesIO(image), "c.jpg"), "classes": ",".join(["cup"] * (REQUEST_LIMITS.classes + 1))},
    )
    assert at_limit.status_code == 200 and {
        d["class_name"] for d in at_limit.get_json()["responses"][0]["detections"]
    } == {"cup"}
    for refused in (over, form):
        assert refused.status_code == 422
        assert f"at most {REQUEST_LIMITS.classes} names or ids" in refused.get_json()["error"]["message"]


def test_long_model_names_and_features_lists_are_refused(client, photo_bytes):
    image = photo_bytes("coffee.jpg")
    long_model = client.post(
        "/api/predict",
        data=body(image, ["cup"], model="m" * (REQUEST_LIMITS.model_name + 1)),
        content_type="application/json",
    )
    entry = {"image": {"content": base64.b64encode(image).decode()}, "features": [{}] * (REQUEST_LIMITS.features + 1)}
    many_features = client.post("/api/predict", json={"requests": [entry]})
    form_model = client.post("/api/predict", data={"image_sha256": "0" * 64, "model": "m" * 10_000})
    for answer, words in (
        (long_model, "model may be at most"),
        (many_features, "features may hold at most"),
        (form_model, "model may be at most"),
    ):
        assert answer.status_code == 422, words
        error = answer.get_json()["error"]
        assert error["code"] == "invalid_parameter" and words in error["message"]
        assert "mmmmmmmmmm" * 10 not in error["message"]  # the value is not echoed


def test_the_class_lookup_costs_one_key_per_name_asked_once_per_filter(detector, monkeypatch):
    calls = []
    original = labels.class_key
    monkeypatch.setattr("inference.detector.class_key", lambda name: calls.append(name) or original(name))
    asked = [name.upper() for name in coco_class_names()] * 10 + ["motorbike", "TV monitor", "tv_monitor"]
    assert detector.class_ids_for(asked) == list(range(80))
    assert len(calls) == len(asked)  # a scan of the model's 80 names per asked name made 80x as many
    assert detector.class_ids_for(list(asked)) == list(range(80))  # the next image of a batch, the same filter
    assert len(calls) == len(asked)


def test_the_lookup_table_matches_a_scan_of_the_names_with_aliases():
    """The table gives what comparing with every name in turn gives: first match, official name before alias."""
    names = ["Motorbike", "person", "motor_bike", "sofa", "couch", "tv monitor", "person"]
    table = class_lookup(names)
    expected = {"motorbike": 0, "person": 1, "sofa": 3, "couch": 4, "tvmonitor": 5, "motorcycle": 0, "tv": 5}
    assert {key: table.get(key) for key in expected} == expected


@pytest.mark.server
@pytest.mark.timeout(180)
def test_a_million_class_names_get_a_422_at_once_while_health_answers_and_no_worker_dies(photo_bytes):
    image = photo_bytes("coffee.jpg")
    million = body(image, [NAME] * 1_000_000)
    with gunicorn_server(workers=2) as server:
        limit = requests.get(server.url + "/api/model", timeout=10).json()["limits"]["max_request_bytes"]
        # The largest body the size limit lets through, filled with names.
        filler = len(body(image, [NAME])) - len(json.dumps(NAME)) + 1
        largest = body(image, [NAME] * ((limit - filler) // (len(json.dumps(NAME)) + 1)))
        assert 10_000_000 < len(million) <= limit and limit - 20 <= len(largest) <= limit
        workers_before = sorted(worker_pids(server.process.pid))
        answers: dict[str, list] = {"big": [], "health": []}
        done = threading.Event()

        def send_big() -> None:
            with requests.Session() as session:
                for payload in (million, largest, million, largest):
                    started = time.perf_counter()
                    answer = session.post(
                        server.url + "/api/predict",
                        data=payload,
                        headers={"Content-Type": "application/json"},
                        timeout=60,
                    )
                    answers["big"].append(
                        (len(payload), answer.status_code, answer.json()["error"], time.perf_counter() - started)
                    )
            done.set()

        senders = [threading.Thread(target=send_big) for _ in range(3)]
        for sender in senders:
            sender.start()
        while not done.is_set() or any(sender.is_alive() for sender in senders):
            started = time.perf_counter()
            answers["health"].append(
                (requests.get(server.url + "/healthz", timeout=30).status_code, time.perf_counter() - started)
            )
            time.sleep(0.05)
        for sender in senders:
            sender.join()
        assert len(answers["big"]) == 12
        for size, status, error, _ in answers["big"]:
            assert status == 422 and error["code"] == "invalid_parameter", (size, error)
            assert f"classes may hold at most {REQUEST_LIMITS.classes} names or ids" in error["message"]
        assert answers["health"] and all(status == 200 for status, _ in answers["health"])
        assert sorted(worker_pids(server.process.pid)) == workers_before
        assert "WORKER TIMEOUT" not in server.log() and "Traceback" not in server.log()
        seconds = sorted(elapsed for *_, elapsed in answers["big"])
        health = sorted(elapsed for _, elapsed in answers["health"])
        print(
            f"\n{len(seconds)} refusals of {len(million) / 1e6:.1f}-{len(largest) / 1e6:.1f} MB bodies, 3 at a time: "
            f"median {seconds[len(seconds) // 2]:.3f} s, max {seconds[-1]:.3f} s; /healthz meanwhile "
            f"({len(health)}): median {health[len(health) // 2] * 1000:.1f} ms, max {health[-1] * 1000:.1f} ms"
        )


def test_the_api_doc_states_the_declared_limits():
    text = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    limits = REQUEST_LIMITS
    for phrase in (
        f"at most {limits.classes} names or ids, a name at most {limits.class_name} characters",
        f"`classes` at most {limits.classes} entries of at most {limits.class_name} characters",
        f"`classes` field at most {limits.classes_field} characters",
        f"`model` at most {limits.model_name} characters",
        f"`features` at most {limits.features} entries",
    ):
        assert phrase in text, phrase


def test_a_long_form_value_is_not_echoed_in_the_error(client):
    for field in ("score_th", "annotate"):
        answer = client.post("/api/predict", data={"image_sha256": "0" * 64, field: "x" * 100_000})
        assert answer.status_code == 422, field
        assert len(answer.get_data()) < 1000, field
