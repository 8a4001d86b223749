"""The JSON and multipart prediction API through the Flask test client, with the real default model."""

from __future__ import annotations

import base64
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from inference import ModelError
from inference.annotate import class_color
from inference.catalog import embedded_model
from inference.params import PARAMETERS
from webapp.app import create_app
from webapp.result_cache import NoCache

# The app fixture's default model (tests/conftest.py) and the defaults it answers with: the declared ones, then its own.
DEFAULT_MODEL = embedded_model("yolox_nano")
DEFAULT_FEATURES = {**{parameter.name: parameter.default for parameter in PARAMETERS}, **DEFAULT_MODEL.default_params}
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-api-token"}


def b64(data: bytes) -> str:
    """Standard base64 text, as the origin's client sends it."""
    return base64.b64encode(data).decode("ascii")


def entry(image: bytes, features: dict | None = None) -> dict:
    """One element of `requests`."""
    return {"image": {"content": b64(image)}, "features": [features or {}]}


def json_body(response: TestResponse) -> dict:
    """The response's JSON, after checking it is JSON and leaks no traceback or HTML."""
    text = response.get_data(as_text=True)
    assert response.mimetype == "application/json", text[:200]
    assert "Traceback" not in text and 'File "' not in text and "<html" not in text.lower()
    return response.get_json()


def predict(
    client: FlaskClient, *entries: dict, headers: dict | None = None, path: str = "/api/predict"
) -> TestResponse:
    """POST a JSON batch."""
    return client.post(path, json={"requests": list(entries)}, headers=headers)


def detections_of(response: TestResponse, slot: int = 0) -> list[dict]:
    """The detections in one slot of a 200 answer."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return json_body(response)["responses"][slot]["detections"]


def multipart(client: FlaskClient, image: bytes, **fields: str) -> TestResponse:
    """POST a form with the file in field `image`."""
    data = {"image": (io.BytesIO(image), "photo.jpg"), **fields}
    return client.post("/api/predict", data=data, content_type="multipart/form-data")


# --- parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_entry",
    [
        {},  # no features key
        {"features": None},
        {"features": []},
        {"features": [None]},
        {"features": [{}]},
        {"features": [dict.fromkeys(DEFAULT_FEATURES)]},  # every feature null
    ],
    ids=["missing", "null", "empty-list", "null-item", "empty-object", "null-values"],
)
def test_missing_or_null_features_take_the_defaults(client, photo_bytes, request_entry):
    image = photo_bytes("motorcycle_left.jpg")
    expected = detections_of(predict(client, entry(image, DEFAULT_FEATURES)))
    answer = predict(client, {"image": {"content": b64(image)}, **request_entry})
    assert detections_of(answer) == expected


def test_explicit_zero_score_threshold_gives_many_more_boxes(client, photo_bytes):
    image = photo_bytes("astronaut.jpg")
    default = detections_of(predict(client, entry(image)))
    zero = detections_of(predict(client, entry(image, {"score_th": 0})))
    assert len(zero) >= len(default) + 5
    assert min(d["score"] for d in zero) < 0.3


def test_max_results_zero_gives_no_detections_and_caps_otherwise(client, photo_bytes):
    image = photo_bytes("astronaut.jpg")
    assert detections_of(predict(client, entry(image, {"maxResults": 0}))) == []
    assert len(detections_of(predict(client, entry(image, {"score_th": 0, "maxResults": 3})))) == 3


def test_min_size_zero_keeps_small_boxes(client, photo_bytes):
    image = photo_bytes("motorcycle_left.jpg")  # the shelf bottle is 18x40 px of 741x500

    def small(detections: list[dict]) -> list[dict]:
        return [
            d
            for d in detections
            if min(d["box_normalized"][2] - d["box_normalized"][0], d["box_normalized"][3] - d["box_normalized"][1])
            < 0.03
        ]

    with_default_min = detections_of(predict(client, entry(image, {"score_th": 0.05})))
    with_zero_min = detections_of(predict(client, entry(image, {"score_th": 0.05, "min_height": 0, "min_width": 0})))
    assert small(with_default_min) == []
    assert small(with_zero_min) != []


# --- batches and per-slot errors -----------------------------------------------------------------


def test_batch_gives_one_slot_per_entry_in_order_and_bad_entries_fail_alone(client, photo_bytes):
    astronaut, coffee = photo_bytes("astronaut.jpg"), photo_bytes("coffee.jpg")
    answer = predict(
        client,
        entry(astronaut),
        {"image": {"content": "not base64 at all!"}},
        entry(b"just some text, not an image"),
        entry(coffee, {"score_th": 1.5}),
        {"features": [{}]},  # no image
        entry(coffee),
    )
    assert answer.status_code == 200
    slots = json_body(answer)["responses"]
    assert len(slots) == 6
    assert "error" not in json_body(answer)
    assert slots[0]["detections"] == detections_of(predict(client, entry(astronaut)))
    assert slots[5]["detections"] == detections_of(predict(client, entry(coffee)))
    errors = [(s["error"]["status"], s["error"]["code"]) for s in slots[1:5]]
    assert errors == [
        (422, "invalid_base64"),
        (422, "unsupported_image"),
        (422, "invalid_parameter"),
        (400, "malformed_request"),
    ]
    assert "requests[3]" in slots[3]["error"]["message"]


@pytest.mark.parametrize(
    ("bad_entry", "status", "code"),
    [
        ({"image": {"content": "%%%%"}}, 422, "invalid_base64"),
        ({"image": {"content": b64(b"GIF87a but truncated")}}, 422, "unsupported_image"),
        ({"image": {"content": ""}}, 422, "empty_image"),
        ({"image": {"content": b64(b"x")}, "features": [{"nms_iou": -0.1}]}, 422, "invalid_parameter"),
        ({"image": {"content": b64(b"x")}, "features": [{"maxResults": 2.5}]}, 422, "invalid_parameter"),
        ({"image": {"content": b64(b"x")}, "features": [{"score_th": "0.3"}]}, 422, "invalid_parameter"),
        ({"image": {"content": 42}}, 400, "malformed_request"),
        ({"features": [{}]}, 400, "malformed_request"),
        ("not an object", 400, "malformed_request"),
    ],
    ids=[
        "base64",
        "not-image",
        "empty",
        "nms-range",
        "max-fraction",
        "string-number",
        "content-type",
        "no-image",
        "entry-type",
    ],
)
def test_a_single_bad_entry_answers_with_its_own_status(client, bad_entry, status, code):
    answer = client.post("/api/predict", json={"requests": [bad_entry]})
    body = json_body(answer)
    assert answer.status_code == status
    assert body["error"]["code"] == code
    assert body["responses"][0]["error"] == body["error"]


def test_unknown_class_is_422(client, photo_bytes):
    for unknown in ("unicorn", 80):
        answer = predict(client, entry(photo_bytes("coffee.jpg"), {"classes": [unknown]}))
        assert answer.status_code == 422
        assert json_body(answer)["error"]["code"] == "invalid_parameter"


@pytest.mark.parametrize("classes", [["cup"], [41]], ids=["by-name", "by-id"])
def test_classes_filter_keeps_only_those_classes(client, photo_bytes, classes):
    image = photo_bytes("coffee.jpg")
    everything = detections_of(predict(client, entry(image)))
    cups = detections_of(predict(client, entry(image, {"classes": classes})))
    assert {d["class_name"] for d in everything} > {"cup"}  # the filter has something to remove
    assert cups and all(d["class_name"] == "cup" and d["class_id"] == 41 for d in cups)
    assert cups == [d for d in everything if d["class_name"] == "cup"]


# --- the response's content -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["astronaut.jpg", "coffee.jpg", "motorcycle_left.jpg", "chelsea.png"])
def test_boxes_in_pixels_and_normalised_agree_and_stay_inside_the_image(client, photo_bytes, name):
    slot = json_body(predict(client, entry(photo_bytes(name), {"score_th": 0.05, "maxResults": 50})))["responses"][0]
    width, height = slot["image"]["width"], slot["image"]["height"]
    assert (width, height) == Image.open(io.BytesIO(photo_bytes(name))).size
    assert slot["detections"]
    for detection in slot["detections"]:
        x1, y1, x2, y2 = detection["box"]
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        for pixel, fraction, side in zip(detection["box"], detection["box_normalized"], (width, height) * 2):
            assert 0 <= fraction <= 1
            assert abs(fraction * side - pixel) <= 0.1
        assert 0 <= detection["score"] <= 1


@pytest.fixture()
def png_annotations(app, monkeypatch):
    """ANNOTATE_FORMAT=png: lossless, so drawn colours can be compared exactly."""
    monkeypatch.setitem(app.config, "ANNOTATE_FORMAT", "png")


def test_annotate_adds_a_png_with_boxes_in_the_class_colour(client, photo_bytes, png_annotations):
    image = photo_bytes("astronaut.jpg")
    plain = json_body(predict(client, entry(image)))["responses"][0]
    assert "annotated_image" not in plain
    slot = json_body(predict(client, entry(image, {"annotate": True})))["responses"][0]
    png = base64.b64decode(slot["annotated_image"], validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and slot["annotated_image_type"] == "image/png"
    drawn = Image.open(io.BytesIO(png)).convert("RGB")
    assert drawn.size == (slot["image"]["width"], slot["image"]["height"]) == (512, 512)
    assert slot["detections"] == plain["detections"]
    person = slot["detections"][0]
    x1, y1, x2, y2 = (round(v) for v in person["box"])
    colour = class_color(person["class_id"])
    middle_y, middle_x = (y1 + y2) // 2, (x1 + x2) // 2
    for point in [(x1, middle_y), (x2, middle_y), (middle_x, y2)]:  # left, right, bottom edges
        assert drawn.getpixel(point) == colour, point
    original = Image.open(io.BytesIO(image)).convert("RGB")
    assert original.getpixel((x1, middle_y)) != colour  # the colour was drawn, not already there


def test_annotating_a_large_jpeg_draws_on_the_full_size_image(client, photo_bytes, png_annotations):
    """The model sees a reduced decode of a big JPEG; the annotated PNG is still the full image, boxes in place."""
    small = Image.open(io.BytesIO(photo_bytes("astronaut.jpg"))).convert("RGB")
    large = small.resize((2048, 2048), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    large.save(buffer, "JPEG", quality=90)
    slot = json_body(predict(client, entry(buffer.getvalue(), {"annotate": True})))["responses"][0]
    drawn = Image.open(io.BytesIO(base64.b64decode(slot["annotated_image"]))).convert("RGB")
    assert drawn.size == (slot["image"]["width"], slot["image"]["height"]) == (2048, 2048)
    person = next(d for d in slot["detections"] if d["class_name"] == "person")
    x1, y1, x2, y2 = (round(v) for v in person["box"])
    assert x2 - x1 > 1000  # the box is in full-size pixels, not the reduced decode's
    colour = class_color(person["class_id"])
    middle_y, middle_x = (y1 + y2) // 2, (x1 + x2) // 2
    for point in [(x1, middle_y), (x2, middle_y), (middle_x, y2)]:
        assert drawn.getpixel(point) == colour, point


# --- multipart --------------------------------------------------------------------------------------


def test_multipart_gives_the_same_detections_as_json(client, photo_bytes):
    image = photo_bytes("motorcycle_left.jpg")
    params = {"score_th": 0.1, "nms_iou": 0.5, "min_height": 0.05, "min_width": 0.02, "maxResults": 4}
    from_json = detections_of(predict(client, entry(image, params)))
    from_form = detections_of(multipart(client, image, **{k: str(v) for k, v in params.items()}))
    assert from_form == from_json
    assert len(from_json) == 4


def test_multipart_classes_and_annotate_fields(client, photo_bytes):
    answer = multipart(client, photo_bytes("coffee.jpg"), classes="cup", annotate="true")
    slot = json_body(answer)["responses"][0]
    assert answer.status_code == 200
    assert [d["class_name"] for d in slot["detections"]] == ["cup"]
    assert base64.b64decode(slot["annotated_image"]).startswith(b"\xff\xd8")  # JPEG by default


def test_annotated_images_are_jpeg_at_most_annotate_max_side(app, client, photo_bytes, monkeypatch):
    monkeypatch.setitem(app.config, "ANNOTATE_MAX_SIDE", 256)
    slot = json_body(predict(client, entry(photo_bytes("astronaut.jpg"), {"annotate": True})))["responses"][0]
    jpeg = base64.b64decode(slot["annotated_image"], validate=True)
    assert jpeg.startswith(b"\xff\xd8") and slot["annotated_image_type"] == "image/jpeg"
    drawn = Image.open(io.BytesIO(jpeg))
    assert drawn.size == (256, 256) and (slot["image"]["width"], slot["image"]["height"]) == (512, 512)
    x1, y1, _x2, y2 = (round(v / 2) for v in slot["detections"][0]["box"])  # the box, at half scale
    colour = class_color(slot["detections"][0]["class_id"])
    left_edge = drawn.convert("RGB").getpixel((x1, (y1 + y2) // 2))
    assert sum(abs(a - b) for a, b in zip(left_edge, colour)) < 120, (left_edge, colour)  # JPEG: close, not exact


def test_annotated_images_stop_at_annotate_max_bytes_per_answer(app, client, photo_bytes, monkeypatch):
    monkeypatch.setitem(app.config, "ANNOTATE_MAX_BYTES", 1)
    images = [photo_bytes(name) for name in ("astronaut.jpg", "coffee.jpg", "chelsea.png")]
    slots = json_body(predict(client, *(entry(image, {"annotate": True}) for image in images)))["responses"]
    assert "annotated_image" in slots[0]  # the first always fits: the budget is checked before each image
    assert [slot["error"]["code"] for slot in slots[1:]] == ["annotation_too_large"] * 2
    assert all(
        slot["error"]["status"] == 413 and "ANNOTATE_MAX_BYTES" in slot["error"]["message"] for slot in slots[1:]
    )


def test_multipart_without_file_is_400(client):
    answer = client.post("/api/predict", data={"score_th": "0.3"}, content_type="multipart/form-data")
    assert answer.status_code == 400
    assert json_body(answer)["error"]["code"] == "missing_image"


def test_multipart_bad_parameter_is_422(client, photo_bytes):
    answer = multipart(client, photo_bytes("coffee.jpg"), score_th="high")
    assert answer.status_code == 422
    assert json_body(answer)["error"]["code"] == "invalid_parameter"


# --- request-level errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "score_th=0.3", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"data": "score_th=0.3", "content_type": "application/x-www-form-urlencoded"}, 400, "missing_image"),
        ({"data": "{}"}, 415, "unsupported_media_type"),  # no Content-Type
        ({"data": '{"requests": [', "content_type": "application/json"}, 400, "malformed_json"),
        ({"data": b"\xff\xfe{", "content_type": "application/json"}, 400, "malformed_json"),
        ({"json": [1, 2]}, 400, "malformed_request"),
        ({"json": {"requests": []}}, 400, "malformed_request"),
        ({"json": {}}, 400, "malformed_request"),
        ({"json": {"requests": [{"image": {"content": ""}}] * 17}}, 413, "batch_too_large"),
    ],
    ids=["text", "urlencoded", "no-type", "truncated", "not-utf8", "list", "empty", "no-requests", "batch-size"],
)
def test_request_level_errors_are_json_with_the_right_status(client, kwargs, status, code):
    for path in ("/api/predict", "/"):
        answer = client.post(path, **kwargs)
        assert answer.status_code == status
        error = json_body(answer)["error"]
        assert (error["status"], error["code"]) == (status, code)
        assert error["message"]


def test_too_large_body_is_413_json(photo_bytes):
    small_limit = create_app({"TESTING": True, "MAX_CONTENT_LENGTH": 1000}).test_client()
    image = photo_bytes("coffee.jpg")
    for answer in (predict(small_limit, entry(image)), multipart(small_limit, image)):
        assert answer.status_code == 413
        assert json_body(answer)["error"]["status"] == 413


def test_unexpected_failure_is_a_generic_500_without_details(app, client, detector, photo_bytes, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(detector, "select", broken)  # runs on cache hits too
    answer = predict(client, entry(photo_bytes("coffee.jpg")))
    assert answer.status_code == 500
    assert json_body(answer)["error"]["code"] == "internal_error"
    assert "secret" not in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/nothing-here", 404),
        ("post", "/api/nothing-here", 404),
        ("get", "/api/predict", 405),
        ("post", "/api/model", 405),
        ("delete", "/api/predict", 405),
        ("put", "/", 405),
        ("post", "/healthz", 405),
    ],
)
def test_api_404_and_405_are_json_never_html(client, method, path, status):
    answer = getattr(client, method)(path)
    assert answer.status_code == status
    assert json_body(answer)["error"]["status"] == status
    if status == 405:
        assert "POST" in answer.headers["Allow"] or "GET" in answer.headers["Allow"]


# --- model info and health --------------------------------------------------------------------------


def test_model_info_describes_the_default_model(client):
    info = json_body(client.get("/api/model"))
    assert info["family"] == "yolox"
    assert info["num_classes"] == len(info["class_names"]) == 80
    assert info["class_names"][41] == "cup"
    assert info["input_size"] == {"width": 416, "height": 416}
    assert info["licence"] and info["source"] and len(info["sha256"]) == 64
    assert info["palette"][0].startswith("#") and info["auth_required"] is False


def test_health_endpoints_when_the_model_is_loaded(client):
    assert json_body(client.get("/healthz")) == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert json_body(ready) == {"status": "ready", "model": "yolox_nano"}


def test_without_a_model_readiness_and_predictions_are_503_but_liveness_is_ok(photo_bytes):
    unloaded = create_app({"TESTING": True, "LOAD_MODEL": False}).test_client()
    assert unloaded.get("/healthz").status_code == 200
    prediction = predict(unloaded, entry(photo_bytes("coffee.jpg")))
    for answer in (unloaded.get("/readyz"), unloaded.get("/api/model"), prediction):
        assert answer.status_code == 503
        assert json_body(answer)["error"]["code"] == "model_not_ready"


# --- auth from the environment ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_app() -> Flask:
    """The app built by create_app() with API_TOKENS set in the environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("API_TOKENS", "alpha-token, beta-token,")
        return create_app({"TESTING": True})


def test_api_tokens_env_var_is_a_comma_separated_list(token_app):
    assert token_app.config["API_TOKENS"] == ["alpha-token", "beta-token"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Api-Token": "wrong"},
        {"X-Api-Token": "alpha"},
        {"X-Api-Token": "alpha-token,beta-token"},
        {"Authorization": "alpha-token"},
    ],
)
def test_missing_or_wrong_token_is_401_json(token_app, photo_bytes, headers):
    answer = predict(token_app.test_client(), entry(photo_bytes("coffee.jpg")), headers=headers)
    assert answer.status_code == 401
    assert json_body(answer)["error"]["code"] == "unauthorized"
    assert "X-Api-Token" in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize("token", ["alpha-token", "beta-token"])
def test_each_configured_token_is_accepted(token_app, photo_bytes, token):
    client = token_app.test_client()
    for path in ("/api/predict", "/"):
        answer = predict(client, entry(photo_bytes("coffee.jpg")), headers={"X-Api-Token": token}, path=path)
        assert "cup" in [d["class_name"] for d in detections_of(answer)]


def test_model_info_and_health_need_no_token(token_app):
    client = token_app.test_client()
    info = client.get("/api/model")
    assert info.status_code == 200 and json_body(info)["auth_required"] is True
    assert client.get("/readyz").status_code == 200


# --- CORS ---------------------------------------------------------------------------------------------


def test_cors_is_off_by_default(client, photo_bytes):
    origin = {"Origin": "http://example.test"}
    preflight = client.options("/api/predict", headers={**origin, **PREFLIGHT})
    posted = predict(client, entry(photo_bytes("coffee.jpg")), headers=origin)
    assert posted.status_code == 200
    for answer in (preflight, posted):
        assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_origins_env_var_allows_that_origin_only(monkeypatch, photo_bytes):
    monkeypatch.setenv("CORS_ORIGINS", "http://example.test")
    client = create_app({"TESTING": True}).test_client()
    for path in ("/api/predict", "/"):
        preflight = client.options(path, headers={"Origin": "http://example.test", **PREFLIGHT})
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://example.test"
        assert "x-api-token" in preflight.headers["Access-Control-Allow-Headers"].lower()
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        stranger = client.options(path, headers={"Origin": "http://elsewhere.test", **PREFLIGHT})
        assert "Access-Control-Allow-Origin" not in stranger.headers
    posted = predict(client, entry(photo_bytes("coffee.jpg")), headers={"Origin": "http://example.test"})
    assert posted.status_code == 200
    assert posted.headers["Access-Control-Allow-Origin"] == "http://example.test"
    stranger = predict(client, entry(photo_bytes("coffee.jpg")), headers={"Origin": "http://elsewhere.test"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_a_model_failing_at_request_time_is_the_servers_fault_not_the_callers(app, client, monkeypatch, photo_bytes):
    """A broken model is a 500 with a plain message (details only in the log), never a 422 blaming the image."""
    detector = app.extensions["models"].default.detector

    def broken(*args, **kwargs):
        raise ModelError("the model failed to run: [ONNXRuntimeError] secret internal detail")

    monkeypatch.setattr(detector, "candidates_from_bytes", broken)
    monkeypatch.setitem(app.extensions, "result_cache", NoCache())  # a cached answer would not run the model
    response = predict(client, entry(photo_bytes("coffee.jpg")))
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "model_failed"
    assert "secret internal detail" not in response.get_data(as_text=True)


# --- request timeout (REQUEST_TIMEOUT_S) ------------------------------------------------------------


class FakeClock:
    """A clock that moves only when a fake slow prediction advances it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def slow_model(app, monkeypatch):
    """Each prediction takes `seconds` of fake time (the real model still runs); returns the setter."""
    from webapp.pipeline import Deadline

    clock = FakeClock()
    monkeypatch.setattr(Deadline, "clock", clock)
    monkeypatch.setitem(app.config, "REQUEST_TIMEOUT_S", 20)
    monkeypatch.setitem(app.extensions, "result_cache", NoCache())  # every image runs the model
    detector = app.extensions["models"].default.detector
    real_candidates = detector.candidates_from_bytes

    def use(seconds: float) -> None:
        def candidates_from_bytes(*args, **kwargs):
            clock.now += seconds
            return real_candidates(*args, **kwargs)

        monkeypatch.setattr(detector, "candidates_from_bytes", candidates_from_bytes)

    return use


def assert_timed_out(slot: dict, step: str) -> None:
    """The slot is the request_timeout error, naming the setting and what to do."""
    error = slot["error"]
    assert (error["status"], error["code"]) == (503, "request_timeout")
    assert "REQUEST_TIMEOUT_S=20" in error["message"] and f"before this image was {step}" in error["message"]
    assert "fewer images" in error["message"]


def test_batch_slots_not_started_before_the_deadline_get_a_timeout_error(client, photo_bytes, slow_model):
    slow_model(8)  # slots start at 0, 8, 16 s; the fourth would start at 24 s > 20 s
    image = photo_bytes("coffee.jpg")
    answer = predict(client, *[entry(image)] * 5)
    assert answer.status_code == 200  # the images that ran keep their results
    slots = json_body(answer)["responses"]
    assert all("detections" in slot for slot in slots[:3])
    for slot in slots[3:]:
        assert_timed_out(slot, "started")


def test_every_slot_timed_out_is_a_503_like_a_single_failed_image(client, photo_bytes, slow_model, monkeypatch):
    import webapp.pipeline
    from webapp.parsing import parse_json_body

    slow_model(0)

    def slow_upload(*args, **kwargs):
        """Receiving and parsing the body used up all the time: no image can start."""
        webapp.pipeline.Deadline.clock.now += 21
        return parse_json_body(*args, **kwargs)

    monkeypatch.setattr(webapp.pipeline, "parse_json_body", slow_upload)
    answers = [predict(client, *[entry(photo_bytes("coffee.jpg"))] * count) for count in (1, 3)]
    for answer, count in zip(answers, (1, 3)):
        assert answer.status_code == 503
        body = json_body(answer)
        assert body["error"]["code"] == "request_timeout"
        assert len(body["responses"]) == count
        for slot in body["responses"]:
            assert_timed_out(slot, "started")


def test_annotation_is_skipped_once_the_deadline_has_passed(client, photo_bytes, slow_model):
    slow_model(25)  # the prediction itself outlasts the deadline
    answer = predict(client, entry(photo_bytes("coffee.jpg"), {"annotate": True}))
    assert answer.status_code == 503
    body = json_body(answer)
    assert_timed_out(body["responses"][0], "annotated")
    assert "annotated_image" not in answer.get_data(as_text=True)


def test_a_request_within_the_deadline_is_not_affected(client, photo_bytes, slow_model):
    slow_model(6)  # three slots start at 0, 6, 12 s and annotate before 20 s
    answer = predict(client, *[entry(photo_bytes("coffee.jpg"), {"annotate": True})] * 3)
    assert answer.status_code == 200
    assert all("annotated_image" in slot for slot in json_body(answer)["responses"])
