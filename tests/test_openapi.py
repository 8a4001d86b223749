"""The OpenAPI document is valid, covers every route, and real responses match its schemas."""

from __future__ import annotations

import base64
import copy
import io
import re

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec
from werkzeug.test import TestResponse

from webapp.app import create_app

UNDOCUMENTED_METHODS = {"HEAD", "OPTIONS"}  # added by Flask to every rule


@pytest.fixture(scope="module")
def document(app) -> dict:
    """GET /api/openapi.json."""
    answer = app.test_client().get("/api/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    return answer.get_json()


@pytest.fixture(scope="module")
def closed_components(document) -> dict:
    """The document's components with undocumented properties forbidden, so extra fields fail validation."""
    components = copy.deepcopy(document["components"])
    for schema in _walk(components["schemas"]):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    return components


def _walk(node):
    """Every dict inside a nested structure."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def response_schema(document: dict, path: str, method: str, status: int) -> dict:
    """The documented application/json schema of one response (following a components/responses $ref)."""
    responses = document["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document status {status}"
    response = responses[str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]


def assert_matches_document(document: dict, closed: dict, path: str, method: str, answer: TestResponse) -> None:
    """The answer's JSON body validates against its status's schema, as documented and with fields closed."""
    assert answer.mimetype == "application/json"
    documented = response_schema(document, path, method, answer.status_code)
    for components in (document["components"], closed):
        OAS30Validator({**documented, "components": components}).validate(answer.get_json())


def b64_entry(data: bytes, **features) -> dict:
    """One element of `requests`."""
    return {"image": {"content": base64.b64encode(data).decode()}, "features": [features]}


def test_document_is_valid_openapi(document):
    validate_spec(document)
    assert document["openapi"].startswith("3.")


def test_every_route_is_documented(app, document):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        assert path in document["paths"], f"{rule.rule} is served but not documented"
        for method in sorted(rule.methods - UNDOCUMENTED_METHODS):
            assert method.lower() in document["paths"][path], f"{method} {rule.rule} is not documented"


def test_closing_the_schemas_catches_an_undocumented_field(document, closed_components):
    schema = {"$ref": "#/components/schemas/ErrorBody", "components": closed_components}
    OAS30Validator(schema).validate({"error": {"status": 400, "code": "x", "message": "y"}})
    assert not OAS30Validator(schema).is_valid({"error": {"status": 400, "code": "x", "message": "y"}, "stack": "..."})


def test_prediction_responses_match_the_document(client, document, closed_components, photo_bytes):
    astronaut = photo_bytes("astronaut.jpg")
    cases = {
        "single": {"requests": [b64_entry(astronaut, score_th=0.35, annotate=True)]},
        "batch with error slots": {"requests": [b64_entry(astronaut), {"image": {"content": "@@"}}, b64_entry(b"no")]},
        "defaults": {"requests": [{"image": {"content": base64.b64encode(astronaut).decode()}}]},
    }
    for path in ("/api/predict", "/"):
        for name, body in cases.items():
            answer = client.post(path, json=body)
            assert answer.status_code == 200, name
            assert_matches_document(document, closed_components, path, "post", answer)
        form = client.post(
            path,
            data={"image": (io.BytesIO(astronaut), "a.jpg"), "score_th": "0.2"},
            content_type="multipart/form-data",
        )
        assert form.status_code == 200
        assert_matches_document(document, closed_components, path, "post", form)


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "{", "content_type": "application/json"}, 400),
        ({"json": {"requests": [{"features": [{}]}]}}, 400),  # single entry without image
        ({"data": {"score_th": "0.3"}, "content_type": "multipart/form-data"}, 400),
        ({"json": {"requests": [{"image": {"content": ""}}] * 17}}, 413),
        ({"data": "x", "content_type": "text/plain"}, 415),
        ({"json": {"requests": [{"image": {"content": "@@"}}]}}, 422),
        ({"json": {"requests": [{"image": {"content": "aGVsbG8="}, "features": [{"score_th": 7}]}]}}, 422),
        ({"json": {"requests": [{"image": {"content": "aGVsbG8="}}]}}, 422),  # not an image
    ],
)
def test_error_responses_match_the_document(client, document, closed_components, kwargs, status):
    answer = client.post("/api/predict", **kwargs)
    assert answer.status_code == status
    assert_matches_document(document, closed_components, "/api/predict", "post", answer)


def test_auth_size_and_readiness_errors_match_the_document(document, closed_components, photo_bytes):
    body = {"requests": [b64_entry(photo_bytes("coffee.jpg"))]}
    guarded = create_app({"TESTING": True, "API_TOKENS": ["t"], "MAX_CONTENT_LENGTH": 50_000}).test_client()
    unauthorised = guarded.post("/api/predict", json=body)
    too_large = guarded.post("/api/predict", json=body, headers={"X-Api-Token": "t"})
    assert (unauthorised.status_code, too_large.status_code) == (401, 413)
    unloaded = create_app({"TESTING": True, "LOAD_MODEL": False}).test_client()
    not_ready = [unloaded.post("/api/predict", json=body), unloaded.get("/api/model"), unloaded.get("/readyz")]
    assert [answer.status_code for answer in not_ready] == [503] * 3
    for answer, path, method in zip(
        [unauthorised, too_large, *not_ready],
        ["/api/predict", "/api/predict", "/api/predict", "/api/model", "/readyz"],
        ["post", "post", "post", "get", "get"],
    ):
        assert_matches_document(document, closed_components, path, method, answer)


@pytest.mark.parametrize("path", ["/api/model", "/healthz", "/readyz"])
def test_info_and_health_responses_match_the_document(client, document, closed_components, path):
    answer = client.get(path)
    assert answer.status_code == 200
    assert_matches_document(document, closed_components, path, "get", answer)


def test_the_published_list_and_string_limits_are_the_ones_enforced(client, document, photo_bytes):
    """maxItems / maxLength come from REQUEST_LIMITS; one item or character more is a 422, the limit itself is not."""
    from inference.params import REQUEST_LIMITS

    schemas = document["components"]["schemas"]
    classes, model = schemas["Features"]["properties"]["classes"], schemas["Features"]["properties"]["model"]
    features = schemas["PredictRequest"]["properties"]["requests"]["items"]["properties"]["features"]
    form = schemas["PredictForm"]["properties"]
    assert (
        classes["maxItems"],
        classes["items"]["oneOf"][0]["maxLength"],
        model["maxLength"],
        features["maxItems"],
        form["classes"]["maxLength"],
        form["model"]["maxLength"],
    ) == (
        REQUEST_LIMITS.classes,
        REQUEST_LIMITS.class_name,
        REQUEST_LIMITS.model_name,
        REQUEST_LIMITS.features,
        REQUEST_LIMITS.classes_field,
        REQUEST_LIMITS.model_name,
    )
    image = base64.b64encode(photo_bytes("coffee.jpg")).decode()
    cases = {  # features[0] at the documented bound, and one over it
        "classes": lambda n: {"classes": ["cup"] * n},
        "class name": lambda n: {"classes": ["c" * n]},
    }
    bounds = {"classes": classes["maxItems"], "class name": classes["items"]["oneOf"][0]["maxLength"]}
    for name, feature in cases.items():
        at, over = (
            client.post("/api/predict", json={"requests": [{"image": {"content": image}, "features": [feature(n)]}]})
            for n in (bounds[name], bounds[name] + 1)
        )
        assert at.status_code in (200, 422) and "at most" not in str(at.get_json()), name
        assert over.status_code == 422 and "at most" in over.get_json()["error"]["message"], name
