"""API blueprint: predictions (JSON and multipart), model info, health, OpenAPI document."""
from __future__ import annotations

import base64
import time

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from inference import Detections, InferenceError, ParameterError
from inference.annotate import IMAGE_FORMATS, PALETTE, draw_detections, encode_image, shrink_to
from inference.image_decoding import decode_image

from . import predictions, wire
from .errors import ApiError, error_response
from .model_thread import in_model_thread
from .models import ModelSet
from .openapi import openapi_document
from .parsing import ModelResolver, PredictionTask, SlotInput, parse_form, parse_json_body
from .responses import json_response
from .tokens import require_token

bp = Blueprint("api", __name__)


@bp.post("/api/predict")
@bp.post("/")
def predict() -> Response:
    """Detect objects in one or more images; one result slot per image, in order."""
    require_token()
    models = _models()
    cache = current_app.extensions["result_cache"]
    started = time.perf_counter()
    deadline = predictions.deadline_clock() + current_app.config["REQUEST_TIMEOUT_S"]
    tasks = _parse_request(models.resolve)
    responses = []
    for task in tasks:
        model = models.get(task.model) if isinstance(task, PredictionTask) else models.default
        outcome = predictions.run_task(model.detector, cache, task, deadline)
        responses.append(_serialise(outcome, task, deadline))
    first_model = next((t.model for t in tasks if isinstance(t, PredictionTask)), models.default.name)
    body = {
        "model": first_model,
        "responses": responses,
        "timings_ms": {"total": round((time.perf_counter() - started) * 1000, 2)},
    }
    errors = [slot["error"] for slot in responses if "error" in slot]
    all_timed_out = len(errors) == len(responses) and all(e["code"] == "request_timeout" for e in errors)
    if (len(responses) == 1 and errors) or all_timed_out:
        # A single image that failed (or a batch that ran out of time): the HTTP status says why.
        body["error"] = errors[0]
        return json_response(body, errors[0]["status"])
    return json_response(body)


def _serialise(outcome: Detections | ApiError, task: SlotInput, deadline: float) -> dict:
    """One slot's JSON, with the annotated image when asked for."""
    if isinstance(outcome, ApiError):
        return wire.error_slot(outcome)
    slot = wire.detections_slot(outcome, task.sha256, task.model)
    if task.annotate:
        if predictions.deadline_clock() >= deadline:
            return wire.error_slot(predictions.timeout_error("annotated"))
        config = current_app.config
        if g.get("annotated_bytes", 0) >= config["ANNOTATE_MAX_BYTES"]:
            return wire.error_slot(_annotation_too_large())
        limits = {"max_pixels": config["MAX_IMAGE_PIXELS"], "max_side": config["MAX_IMAGE_SIDE"]}
        image_format = config["ANNOTATE_FORMAT"]
        try:
            encoded = in_model_thread(_annotated_image, task, outcome, limits, config["ANNOTATE_MAX_SIDE"], image_format)
        except InferenceError as exc:
            return wire.error_slot(ApiError.from_inference(exc))
        g.annotated_bytes = g.get("annotated_bytes", 0) + len(encoded)
        slot["annotated_image"] = base64.b64encode(encoded).decode("ascii")
        slot["annotated_image_type"] = IMAGE_FORMATS[image_format][2]
    return slot


def _annotation_too_large() -> ApiError:
    """413 for an image annotated after the answer's annotated images reached ANNOTATE_MAX_BYTES."""
    limit = current_app.config["ANNOTATE_MAX_BYTES"]
    return ApiError(413, "annotation_too_large", f"this answer's annotated images already hold {limit} bytes "
                    "(ANNOTATE_MAX_BYTES); ask for fewer annotated images per request")


@bp.get("/api/models")
def list_models() -> Response:
    """Every model this server serves, the default first."""
    _require_info_token()
    models = _models()
    return json_response({"default": models.default.name, "models": [models.describe(m) for m in models.entries]})


@bp.get("/api/model")
def model_info() -> Response:
    """One model (the default, or ?model=name): family, input size, classes, parameters, limits, palette."""
    _require_info_token()
    models = _models()
    try:
        name, _ = models.resolve(request.args.get("model") or None)
    except ParameterError as exc:
        raise ApiError(422, "invalid_parameter", str(exc)) from None
    config = current_app.config
    limits = {"max_batch": config["MAX_BATCH"], "max_request_bytes": config["MAX_CONTENT_LENGTH"],
              "max_image_pixels": config["MAX_IMAGE_PIXELS"], "workers": config["WORKERS"] or None}  # fmt: skip
    description = models.describe(models.get(name))
    return json_response({**description, "palette": list(PALETTE), "auth_required": bool(_tokens()), "limits": limits})


@bp.get("/healthz")
def liveness() -> Response:
    """The process is up and answering."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readiness() -> Response:
    """The models are loaded and warmed up: traffic may be sent."""
    models = current_app.extensions.get("models")
    if models is None:
        return error_response(503, "model_not_ready", "the model is not loaded yet")
    return json_response({"status": "ready", "model": models.default.name})


@bp.get("/api/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 document of every endpoint."""
    _require_info_token()
    return json_response(openapi_document(current_app.config["MAX_BATCH"]))


def _models() -> ModelSet:
    """The process's models, or 503 while they are not loaded."""
    models = current_app.extensions.get("models")
    if models is None:
        raise ApiError(503, "model_not_ready", "the model is not loaded yet; try again shortly")
    return models


def _tokens() -> list[str]:
    return current_app.config["API_TOKENS"]


def _require_info_token() -> None:
    """The token, for the descriptive endpoints, when INFO_REQUIRES_TOKEN says so."""
    if current_app.config["INFO_REQUIRES_TOKEN"]:
        require_token()


def _parse_request(resolve_model: ModelResolver) -> list[SlotInput]:
    """Dispatch on content type: JSON or multipart form."""
    max_batch = current_app.config["MAX_BATCH"]
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return parse_json_body(_read_body(), max_batch, resolve_model)
    if mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):  # the latter: image_sha256 only
        return parse_form(request.form, request.files, max_batch, resolve_model)
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


def _annotated_image(task: PredictionTask, detections, limits: dict, max_side: int, image_format: str) -> bytes:
    """The image with the boxes drawn, its longest side at most max_side (a JPEG is decoded at a reduced scale
    when it can be: memory stays bounded whatever the original's size)."""
    decoded = decode_image(task.image, **limits, target_size=(max_side, max_side))
    return encode_image(draw_detections(shrink_to(decoded.pixels, max_side), detections), image_format)
