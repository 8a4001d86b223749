"""API blueprint: predictions (JSON and multipart), model info, health, OpenAPI document."""
from __future__ import annotations

import base64
import hmac
import time

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from inference import Detector, InferenceError, ModelError
from inference.annotate import PALETTE, draw_detections, encode_png
from inference.image_decoding import decode_image

from .errors import ApiError, error_response
from .openapi import openapi_document
from .parsing import PredictionTask, SlotInput, parse_form, parse_json_body
from .responses import json_response

bp = Blueprint("api", __name__)
# The request deadline's clock (tests replace it to make time pass). gunicorn's `timeout` kills a busy sync
# worker (the client gets a dropped connection) and never stops a gthread request, so predict checks a
# shorter deadline itself between images and answers the images it could not start with a JSON error.
deadline_clock = time.monotonic


@bp.post("/api/predict")
@bp.post("/")
def predict() -> Response:
    """Detect objects in one or more images; one result slot per image, in order."""
    _require_token()
    detector = _detector()
    started = time.perf_counter()
    deadline = deadline_clock() + current_app.config["REQUEST_TIMEOUT_S"]
    slots = _parse_request()
    results = [_run_slot(detector, slot, deadline) for slot in slots]
    body = {
        "model": detector.info.name,
        "responses": results,
        "timings_ms": {"total": round((time.perf_counter() - started) * 1000, 2)},
    }
    all_timed_out = all(result.get("error", {}).get("code") == "request_timeout" for result in results)
    if (len(slots) == 1 and "error" in results[0]) or all_timed_out:
        # A single image that failed (or a batch that ran out of time): the HTTP status says why.
        body["error"] = results[0]["error"]
        return json_response(body, results[0]["error"]["status"])
    return json_response(body)


@bp.get("/api/model")
def model_info() -> Response:
    """What is loaded: family, input size, classes, source, licence, and the class colour palette."""
    detector = _detector()
    return json_response({**detector.info.to_dict(), "palette": list(PALETTE), "auth_required": bool(_tokens())})


@bp.get("/healthz")
def liveness() -> Response:
    """The process is up and answering."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readiness() -> Response:
    """The model is loaded and warmed up: traffic may be sent."""
    if current_app.extensions.get("detector") is None:
        return error_response(503, "model_not_ready", "the model is not loaded yet")
    return json_response({"status": "ready", "model": current_app.extensions["detector"].info.name})


@bp.get("/api/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 document of every endpoint."""
    return json_response(openapi_document())


def _detector() -> Detector:
    """The process's Detector, or 503 while it is not loaded."""
    detector = current_app.extensions.get("detector")
    if detector is None:
        raise ApiError(503, "model_not_ready", "the model is not loaded yet; try again shortly")
    return detector


def _tokens() -> list[str]:
    return current_app.config["API_TOKENS"]


def _require_token() -> None:
    """401 unless no tokens are configured or X-Api-Token matches one of them (constant time)."""
    tokens = _tokens()
    if not tokens:
        return
    given = request.headers.get("X-Api-Token", "").encode()
    # Compare with every token, without stopping early, so timing reveals nothing.
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(given, token.encode())
    if not matched:
        raise ApiError(401, "unauthorized", "a valid X-Api-Token header is required")


def _parse_request() -> list[SlotInput]:
    """Dispatch on content type: JSON or multipart form."""
    max_batch = current_app.config["MAX_BATCH"]
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return parse_json_body(_read_body(), max_batch)
    if mimetype == "multipart/form-data":
        return parse_form(request.form, request.files, max_batch)
    raise ApiError(
        415,
        "unsupported_media_type",
        f"send application/json or multipart/form-data, not {mimetype or 'a body without Content-Type'}",
    )


def _read_body() -> bytes:
    """The whole body; 413 when over MAX_CONTENT_LENGTH, also for a chunked body (no Content-Length)."""
    data = request.get_data(cache=False)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    # Werkzeug stops a chunked body at the limit without raising: reaching it means there was more.
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def _run_slot(detector: Detector, slot: SlotInput, deadline: float) -> dict:
    """Predict one task, or report its error (its own, or the request's deadline passed) in its slot."""
    if isinstance(slot, ApiError):
        return {"error": slot.to_dict()}
    if deadline_clock() >= deadline:
        return {"error": _timeout_error("started").to_dict()}
    config = current_app.config
    limits = {"max_pixels": config["MAX_IMAGE_PIXELS"], "max_side": config["MAX_IMAGE_SIDE"]}
    try:
        detections = detector.predict_bytes(slot.image, slot.params, **limits)
        g.setdefault("inference_ms", []).append(detections.timings_ms.get("inference", 0.0))
        result = {**detections.to_dict(), "timings_ms": detections.timings_ms}
        if slot.annotate:
            if deadline_clock() >= deadline:
                return {"error": _timeout_error("annotated").to_dict()}
            result["annotated_image"] = _annotated_png(slot, detections, limits)
        return result
    except InferenceError as exc:
        if isinstance(exc, ModelError):
            current_app.logger.error("prediction failed: %s", exc)
        return {"error": ApiError.from_inference(exc).to_dict()}


def _timeout_error(step: str) -> ApiError:
    """503 for an image the request's deadline passed before it was `step`."""
    seconds = current_app.config["REQUEST_TIMEOUT_S"]
    return ApiError(
        503,
        "request_timeout",
        f"the request ran out of time (REQUEST_TIMEOUT_S={seconds} s) before this image was {step}; "
        "send fewer images per request",
    )


def _annotated_png(slot: PredictionTask, detections, limits: dict) -> str:
    """The full-resolution image with the boxes drawn, as base64 PNG."""
    full = decode_image(slot.image, **limits)  # full size: the prediction may have used a reduced decode
    return base64.b64encode(encode_png(draw_detections(full.pixels, detections))).decode("ascii")
