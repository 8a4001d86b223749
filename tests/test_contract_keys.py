"""A strict request contract: an unknown key anywhere gets a 422 naming it and where it belongs."""

from __future__ import annotations

import base64
import io
import re

import pytest

from tools.servers import ROOT
from webapp.config import DEFAULT_MAX_BATCH
from webapp.contract_keys import BODY, ENTRY, FEATURES, FORM_KEYS, IMAGE, JSON_KEYS
from webapp.openapi import openapi_document

PHOTO = (ROOT / "tests" / "data" / "photos" / "coffee.jpg").read_bytes()
CONTENT = base64.b64encode(PHOTO).decode("ascii")


def entry(**extra) -> dict:
    """A good element of `requests`, with extra keys."""
    return {"image": {"content": CONTENT}, "features": [{"score_th": 0.5}], **extra}


def error_of(answer) -> dict:
    """The answer's error, checked to be the unknown-key 422."""
    body = answer.get_json()
    assert answer.status_code == 422, body
    assert body["error"]["code"] == "unknown_field", body
    return body["error"]


def schemas() -> dict:
    return openapi_document(DEFAULT_MAX_BATCH)["components"]["schemas"]


def test_openapi_lists_the_declared_keys_and_closes_every_object():
    request = schemas()["PredictRequest"]
    items = request["properties"]["requests"]["items"]
    places = {
        BODY: request,
        ENTRY: items,
        IMAGE: items["properties"]["image"],
        FEATURES: schemas()["Features"],
    }
    for place, schema in places.items():
        assert set(schema["properties"]) == set(JSON_KEYS[place]), place
        assert schema["additionalProperties"] is False, place
    form = schemas()["PredictForm"]
    assert set(form["properties"]) == set(FORM_KEYS) and form["additionalProperties"] is False


@pytest.mark.parametrize("path", ["/api/predict", "/"])
def test_top_level_model_is_refused_with_where_it_goes(client, path):
    answer = client.post(path, json={"model": "yolox_nano", "requests": [entry()]})
    message = error_of(answer)["message"]
    assert "unknown key `model` in the body" in message
    assert "`model` goes in requests[].features[0]" in message


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"requests": [entry()], "scoreth": 0.5}, "`scoreth` in the body"),
        ({"requests": [entry(img=1)]}, "`img` in requests[0]"),
        ({"requests": [{"image": {"content": CONTENT, "type": "jpeg"}}]}, "`type` in requests[0].image"),
        (
            {"requests": [{"image": {"content": CONTENT}, "features": [{"scor_th": 0.5}]}]},
            "`scor_th` in requests[0].features[0]",
        ),
        (
            {"requests": [{"image": {"content": CONTENT}, "features": [{}, {"nms": 0.5}]}]},
            "`nms` in requests[0].features[1]",
        ),
    ],
    ids=["body", "entry", "image", "features", "second_features"],
)
def test_unknown_key_at_each_level_is_named(client, body, named):
    assert named in error_of(client.post("/api/predict", json=body))["message"]


@pytest.mark.parametrize(
    ("features", "hint"),
    [
        ({"maxresults": 5}, "Did you mean `maxResults`?"),
        ({"min_heigth": 0.1}, "Did you mean `min_height`?"),
        ({"image": {}}, "`image` goes in requests[]"),
    ],
)
def test_misspelt_or_misplaced_keys_get_a_hint(client, features, hint):
    body = {"requests": [{"image": {"content": CONTENT}, "features": [features]}]}
    assert hint in error_of(client.post("/api/predict", json=body))["message"]


def test_in_a_batch_only_the_entry_with_the_unknown_key_fails(client):
    answer = client.post("/api/predict", json={"requests": [entry(), entry(extra=True)]})
    assert answer.status_code == 200
    first, second = answer.get_json()["responses"]
    assert "detections" in first
    assert second["error"]["code"] == "unknown_field" and "`extra` in requests[1]" in second["error"]["message"]


def test_an_unknown_form_field_is_refused_with_a_hint(client):
    form = {"image": (io.BytesIO(PHOTO), "coffee.jpg"), "modle": "yolox_nano"}
    message = error_of(client.post("/api/predict", data=form))["message"]
    assert "unknown field `modle` in the form" in message and "Did you mean `model`?" in message


def test_an_unknown_file_field_is_refused(client):
    form = {"file": (io.BytesIO(PHOTO), "coffee.jpg")}
    assert "unknown field `file` in the form" in error_of(client.post("/api/predict", data=form))["message"]


def test_a_huge_unknown_key_is_cut_in_the_message(client):
    body = {"requests": [entry()], "x" * 100_000: 1}
    assert len(error_of(client.post("/api/predict", json=body))["message"]) < 300


def test_every_known_key_is_still_accepted(client):
    features = {
        "score_th": 0.5,
        "nms_iou": 0.4,
        "min_height": 0.0,
        "min_width": 0.0,
        "maxResults": 5,
        "classes": ["cup"],
        "model": None,
        "annotate": False,
    }
    assert set(features) == set(JSON_KEYS[FEATURES])
    answer = client.post("/api/predict", json={"requests": [{"features": [features], "image": {"content": CONTENT}}]})
    assert answer.status_code == 200, answer.get_json()
    form = {"image": (io.BytesIO(PHOTO), "coffee.jpg"), **{k: str(v) for k, v in features.items() if k != "model"}}
    form.update(classes="cup", annotate="false", model="")
    assert client.post("/api/predict", data=form).status_code == 200


def test_the_client_reports_an_unknown_field_as_a_parameter_problem():
    from detection_client.client import _rejection

    rejection = _rejection(422, {"code": "unknown_field", "message": "unknown key `x` in requests[0].features[0]"})
    assert "the server rejected a parameter" in str(rejection) and rejection.code == "unknown_field"


def test_the_api_docs_field_table_lists_exactly_the_features_keys():
    api = (ROOT / "docs" / "api.md").read_text()
    table = api[api.index("| field (in `requests[i].features[0]`") :].split("\n\n")[0]
    assert sorted(re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)) == sorted(JSON_KEYS[FEATURES])
