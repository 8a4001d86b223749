"""Several models side by side: /api/models, the `model` field, per-model defaults, safe descriptions."""

from __future__ import annotations

import base64
import io

import pytest

from inference.params import PARAMETERS
from webapp.app import create_app


def entry(image: bytes, features: dict | None = None) -> dict:
    return {"image": {"content": base64.b64encode(image).decode()}, "features": [features or {}]}


def test_models_lists_both_with_their_own_defaults(client):
    body = client.get("/api/models").get_json()
    assert body["default"] == "yolox_nano"  # the test app lists YOLOX first
    by_name = {m["name"]: m for m in body["models"]}
    assert set(by_name) == {"yolox_nano", "deimv2_femto"}
    assert by_name["deimv2_femto"]["family"] == "detr" and by_name["yolox_nano"]["family"] == "yolox"
    assert by_name["deimv2_femto"]["default_params"]["score_th"] != by_name["yolox_nano"]["default_params"]["score_th"]
    for model in by_name.values():
        assert model["coco_dev"]["ap"] > 0 and model["licence"] == "Apache-2.0"


def test_the_model_field_picks_the_model_and_its_default_threshold(client, photo_bytes):
    image = photo_bytes("astronaut.jpg")
    plain = client.post("/api/predict", json={"requests": [entry(image)]}).get_json()
    deim = client.post("/api/predict", json={"requests": [entry(image, {"model": "deimv2_femto"})]}).get_json()
    assert plain["model"] == "yolox_nano" and deim["model"] == "deimv2_femto"
    assert deim["responses"][0]["model"] == "deimv2_femto"
    assert "person" in [d["class_name"] for d in deim["responses"][0]["detections"]]
    threshold = client.get("/api/model?model=deimv2_femto").get_json()["default_params"]["score_th"]
    assert min(d["score"] for d in deim["responses"][0]["detections"]) >= threshold


def test_a_batch_may_mix_models(client, photo_bytes):
    image = photo_bytes("coffee.jpg")
    body = client.post(
        "/api/predict", json={"requests": [entry(image, {"model": "deimv2_femto"}), entry(image)]}
    ).get_json()
    assert [slot["model"] for slot in body["responses"]] == ["deimv2_femto", "yolox_nano"]


@pytest.mark.parametrize("model", ["nope", "", " ", "../../etc/passwd", 7, ["yolox_nano"]])
def test_an_unknown_model_is_a_422_naming_the_choices(client, photo_bytes, model):
    response = client.post("/api/predict", json={"requests": [entry(photo_bytes("coffee.jpg"), {"model": model})]})
    if model in ("", " "):  # treated like "no model": an empty name names nothing
        assert response.status_code in (200, 422)
        return
    assert response.status_code == 422
    message = response.get_json()["error"]["message"]
    assert ("yolox_nano" in message and "deimv2_femto" in message) or "/api/models" in message


def test_form_model_field(client, photo_bytes):
    data = {"image": (io.BytesIO(photo_bytes("coffee.jpg")), "c.jpg"), "model": "deimv2_femto"}
    assert client.post("/api/predict", data=data).get_json()["model"] == "deimv2_femto"
    bad = client.post("/api/predict", data={"image": (io.BytesIO(photo_bytes("coffee.jpg")), "c.jpg"), "model": "x"})
    assert bad.status_code == 422


def test_api_model_describes_parameters_from_their_one_declaration(client):
    body = client.get("/api/model").get_json()
    assert [p["name"] for p in body["parameters"]] == [p.name for p in PARAMETERS]
    declared = {p.name: p for p in PARAMETERS}
    for described in body["parameters"]:
        parameter = declared[described["name"]]
        assert (described["minimum"], described["maximum"]) == (parameter.minimum, parameter.maximum)
    assert body["limits"]["max_batch"] == 16
    assert client.get("/api/model?model=nope").status_code == 422


def test_openapi_and_the_page_follow_the_declaration(client, app):
    """The document's schemas and the page's sliders come from PARAMETERS and the configured batch limit."""
    document = client.get("/api/openapi.json").get_json()
    features = document["components"]["schemas"]["Features"]["properties"]
    for parameter in PARAMETERS:
        assert features[parameter.name]["default"] == parameter.default
        assert features[parameter.name]["maximum"] == parameter.maximum
    assert (
        document["components"]["schemas"]["PredictRequest"]["properties"]["requests"]["maxItems"]
        == app.config["MAX_BATCH"]
    )
    small = create_app({"TESTING": True, "MODELS": ["yolox_nano"], "MAX_BATCH": 3}).test_client()
    assert (
        small.get("/api/openapi.json").get_json()["components"]["schemas"]["PredictRequest"]["properties"]["requests"][
            "maxItems"
        ]
        == 3
    )
    page = client.get("/").get_data(as_text=True)
    for parameter in PARAMETERS:
        assert f'data-param="{parameter.name}"' in page
    assert '<select id="model"' in page and 'value="deimv2_femto"' in page


def test_model_descriptions_never_show_a_local_path_or_a_url_query(tmp_path, monkeypatch):
    path = tmp_path / "secret-dir" / "my_model.onnx"
    path.parent.mkdir()
    from inference.catalog import embedded_model

    path.write_bytes(embedded_model("yolox_nano").path.read_bytes())
    app = create_app({"TESTING": True, "MODELS": [str(path)]})
    text = app.test_client().get("/api/models").get_data(as_text=True) + app.test_client().get("/api/model").get_data(
        as_text=True
    )
    assert "secret-dir" not in text and str(tmp_path) not in text
    assert '"name":"my_model"' in text.replace(" ", "")


def test_info_endpoints_need_the_token_when_configured():
    app = create_app({"TESTING": True, "MODELS": ["yolox_nano"], "API_TOKENS": ["t0ken"], "INFO_REQUIRES_TOKEN": True})
    client = app.test_client()
    for path in ("/api/model", "/api/models", "/api/openapi.json"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-Api-Token": "t0ken"}).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_the_worker_count_is_reported_when_gunicorn_sets_it():
    """gunicorn.conf.py exports WEB_CONCURRENCY; the client sizes its concurrency by limits.workers."""
    served = create_app({"TESTING": True, "MODELS": ["yolox_nano"], "WORKERS": 3}).test_client()
    assert served.get("/api/model").get_json()["limits"]["workers"] == 3
    alone = create_app({"TESTING": True, "MODELS": ["yolox_nano"], "WORKERS": 0}).test_client()
    assert alone.get("/api/model").get_json()["limits"]["workers"] is None
