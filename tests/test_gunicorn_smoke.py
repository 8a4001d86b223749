"""The real Procfile command serves the default model over HTTP."""
import base64

import pytest
import requests

from servers import gunicorn_server

pytestmark = pytest.mark.server


def test_procfile_gunicorn_serves_json_and_multipart(photo_bytes):
    image = photo_bytes("astronaut.jpg")
    with gunicorn_server(workers=2) as server:
        body = {"requests": [{"features": [{"score_th": 0.35}], "image": {"content": base64.b64encode(image).decode()}}]}
        answer = requests.post(server.url + "/api/predict", json=body, timeout=30)
        assert answer.status_code == 200
        labels = [d["class_name"] for d in answer.json()["responses"][0]["detections"]]
        assert "person" in labels
        form = requests.post(server.url + "/api/predict", files={"image": ("a.jpg", image)}, timeout=30)
        assert form.status_code == 200
        assert form.json()["responses"][0]["detections"] == answer.json()["responses"][0]["detections"]
