"""The origin document's client (shared/origin/flask-serving.md, send2api) keeps working unchanged."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tools.servers import gunicorn_server
from webapp.app import create_app

# ---- The origin's client, copied verbatim from shared/origin/flask-serving.md (do not edit) ----------

json_template = {"requests": [{"features": [{"score_th": None, "nms_iou": None}], "image": {"content": None}}]}


def send2api(url, token, image, score_th=0.35, nms_iou=0.40):
    """Sends JSON request to AI-microservice and recieve a JSON response

    Args
    ----
    url (str): URL of server where AI-microservice is hosted
    image (image file): opened image file
    score_th (float): Minimum prediction score for bounding box to be accepted
    nms_ious (float): IOU threshold for non-max suppression

    Rets
    ----
    (dict): JSON response
    """
    base64_bytes = base64.b64encode(image.read()).decode("utf-8")

    json_template["requests"][0]["image"]["content"] = base64_bytes
    json_template["requests"][0]["features"][0]["score_th"] = score_th
    json_template["requests"][0]["features"][0]["nms_iou"] = nms_iou

    token = {"X-Api-Token": token}
    response = requests.post(url, headers=token, json=json_template)
    json_response = response.content

    j = json.loads(json_response)
    return j


# ---- end of the origin's code ------------------------------------------------------------------------

ASTRONAUT = Path(__file__).resolve().parent / "data" / "photos" / "astronaut.jpg"


def origin_request(url: str, token: str, image_bytes: bytes) -> requests.PreparedRequest:
    """Exactly what send2api puts on the wire: the origin's body construction, prepared by requests."""
    body = copy.deepcopy(json_template)
    body["requests"][0]["image"]["content"] = base64.b64encode(image_bytes).decode("utf-8")
    body["requests"][0]["features"][0]["score_th"] = 0.35
    body["requests"][0]["features"][0]["nms_iou"] = 0.40
    return requests.Request("POST", url, headers={"X-Api-Token": token}, json=body).prepare()


def post_prepared(client: FlaskClient, prepared: requests.PreparedRequest):
    """Send the prepared request's exact bytes and headers to the Flask app."""
    return client.post("/", data=prepared.body, headers=dict(prepared.headers))


class FlaskAdapter(requests.adapters.BaseAdapter):
    """A requests transport that hands each request to a Flask test client instead of the network."""

    def __init__(self, client: FlaskClient) -> None:
        super().__init__()
        self.client = client

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        answer = self.client.open(
            request.path_url, method=request.method, data=request.body, headers=dict(request.headers)
        )
        response = requests.Response()
        response.status_code, response._content, response.url = answer.status_code, answer.get_data(), request.url
        response.headers.update(answer.headers)
        return response

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def xxx_app() -> Flask:
    """The app with the origin's example token configured."""
    return create_app({"TESTING": True, "API_TOKENS": ["xxx"]})


@pytest.fixture()
def route_requests_to(monkeypatch):
    """Make `requests` (as send2api calls it) talk to a given Flask app."""

    def route(app: Flask) -> None:
        adapter = FlaskAdapter(app.test_client())
        monkeypatch.setattr(requests.Session, "get_adapter", lambda self, url: adapter)

    return route


def test_prepared_body_is_the_origin_json(photo_bytes):
    prepared = origin_request("http://localhost:5000/", "xxx", photo_bytes("astronaut.jpg"))
    assert prepared.headers["Content-Type"] == "application/json"
    assert prepared.headers["X-Api-Token"] == "xxx"
    sent = json.loads(prepared.body)
    assert sent["requests"][0]["features"] == [{"score_th": 0.35, "nms_iou": 0.4}]
    assert base64.b64decode(sent["requests"][0]["image"]["content"]) == photo_bytes("astronaut.jpg")


@pytest.mark.parametrize("configured", ["open", "xxx"])
def test_origin_bytes_are_accepted_with_or_without_tokens(app, xxx_app, photo_bytes, configured):
    server = app if configured == "open" else xxx_app
    prepared = origin_request("http://localhost:5000/", "xxx", photo_bytes("astronaut.jpg"))
    answer = post_prepared(server.test_client(), prepared)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    detections = answer.get_json()["responses"][0]["detections"]
    assert "person" in [d["class_name"] for d in detections]
    assert all(d["score"] >= 0.35 for d in detections)  # the origin's score_th was applied


def test_origin_bytes_with_a_wrong_token_are_401_json(xxx_app, photo_bytes):
    prepared = origin_request("http://localhost:5000/", "yyy", photo_bytes("astronaut.jpg"))
    answer = post_prepared(xxx_app.test_client(), prepared)
    assert answer.status_code == 401
    assert answer.mimetype == "application/json"
    assert answer.get_json()["error"]["code"] == "unauthorized"


def test_send2api_unchanged_against_the_flask_app(app, xxx_app, route_requests_to):
    route_requests_to(xxx_app)
    with open(ASTRONAUT, "rb") as image:
        result = send2api("http://localhost:5000/", "xxx", image)
    assert "person" in [d["class_name"] for d in result["responses"][0]["detections"]]
    with open(ASTRONAUT, "rb") as image:
        refused = send2api("http://localhost:5000/", "wrong", image)
    assert refused["error"]["status"] == 401
    route_requests_to(app)  # no tokens configured: the origin's token is simply ignored
    with open(ASTRONAUT, "rb") as image:
        assert send2api("http://localhost:5000/", "xxx", image)["responses"][0]["detections"]


@pytest.mark.server
def test_send2api_unchanged_against_real_gunicorn():
    with gunicorn_server(env={"API_TOKENS": "xxx"}) as server:
        with open(ASTRONAUT, "rb") as image:
            result = send2api(server.url + "/", "xxx", image)
        with open(ASTRONAUT, "rb") as image:
            assert send2api(server.url + "/", "wrong", image)["error"]["status"] == 401
    detections = result["responses"][0]["detections"]
    person = next(d for d in detections if d["class_name"] == "person")
    assert person["score"] >= 0.35
    assert result["model"] == "deimv2_femto"  # no `model` in the origin's request: the default model
