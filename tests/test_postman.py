"""docs/postman_collection.json is current, covers the OpenAPI operations exactly, and its examples work."""

from __future__ import annotations

import io
import json

import pytest

from tools.make_postman_collection import ERROR_CASE, OUTPUT, render
from tools.servers import ROOT
from webapp.config import DEFAULT_MAX_BATCH
from webapp.openapi import openapi_document

COLLECTION = json.loads(OUTPUT.read_text(encoding="utf-8"))
VARIABLES = {variable["key"]: variable["value"] for variable in COLLECTION["variable"]}
EXAMPLES = [item for item in COLLECTION["item"] if not item["name"].startswith(ERROR_CASE)]  # the working requests


def method_and_path(item: dict) -> tuple[str, str]:
    """("POST", "/api/predict") from a Postman request."""
    return item["request"]["method"], item["request"]["url"]["raw"].removeprefix("{{baseUrl}}")


def openapi_operations() -> dict[tuple[str, str], dict]:
    """Every (METHOD, path) of the OpenAPI document, with its operation."""
    return {
        (method.upper(), path): operation
        for path, operations in openapi_document(DEFAULT_MAX_BATCH)["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "responses" in operation
    }


def items_for(method: str, path: str) -> list[dict]:
    """The collection's requests for one operation."""
    return [item for item in EXAMPLES if method_and_path(item) == (method, path)]


def test_regenerating_gives_the_committed_file():
    assert render() == OUTPUT.read_text(encoding="utf-8"), "run: python -m tools.make_postman_collection"


def test_requests_and_operations_match_both_ways():
    assert {method_and_path(item) for item in EXAMPLES} == set(openapi_operations())
    assert COLLECTION["info"]["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    assert {"baseUrl", "apiToken", "imageBase64"} <= set(VARIABLES)


def test_token_header_goes_exactly_where_the_api_accepts_a_token():
    for (method, path), operation in openapi_operations().items():
        secured = any("apiToken" in requirement for requirement in operation.get("security", []))
        for item in items_for(method, path):
            tokens = [h["value"] for h in item["request"]["header"] if h["key"] == "X-Api-Token"]
            assert tokens == (["{{apiToken}}"] if secured else []), item["name"]


@pytest.mark.parametrize("path", ["/api/predict", "/"])
def test_json_example_is_the_origin_shape_and_works(client, path):
    [item] = [i for i in items_for("POST", path) if i["request"]["body"]["mode"] == "raw"]
    raw = item["request"]["body"]["raw"]
    assert list(json.loads(raw)["requests"][0]) == ["features", "image"]  # the origin document's order
    body = raw.replace("{{imageBase64}}", VARIABLES["imageBase64"])
    answer = client.post(path, data=body, content_type="application/json")
    assert answer.status_code == 200, answer.get_json()
    assert "person" in [d["class_name"] for d in answer.get_json()["responses"][0]["detections"]]


@pytest.mark.parametrize("enable_optional", [False, True])
def test_multipart_example_fields_are_accepted(client, enable_optional):
    [item] = [i for i in items_for("POST", "/api/predict") if i["request"]["body"]["mode"] == "formdata"]
    fields = item["request"]["body"]["formdata"]
    [file_field] = [f for f in fields if f["type"] == "file"]
    form = {f["key"]: f["value"] for f in fields if f["type"] == "text" and (enable_optional or not f.get("disabled"))}
    photo = (ROOT / "tests" / "data" / "photos" / "grace_hopper.jpg").read_bytes()
    answer = client.post("/api/predict", data={**form, file_field["key"]: (io.BytesIO(photo), "photo.jpg")})
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()["responses"][0]
    assert "person" in [d["class_name"] for d in result["detections"]]
    assert ("annotated_image" in result) == enable_optional


def test_every_request_has_tests_and_the_error_case_expects_a_422(client):
    for item in COLLECTION["item"]:
        [event] = item["event"]
        script = "\n".join(event["script"]["exec"])
        assert event["listen"] == "test" and "pm.test(" in script and "to.have.status(" in script, item["name"]
    [error_case] = [item for item in COLLECTION["item"] if item["name"].startswith(ERROR_CASE)]
    assert "to.have.status(422)" in "\n".join(error_case["event"][0]["script"]["exec"])
    body = error_case["request"]["body"]["raw"].replace("{{imageBase64}}", VARIABLES["imageBase64"])
    answer = client.post("/api/predict", data=body, content_type="application/json")
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "unknown_field"
