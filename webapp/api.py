"""API blueprint: predictions (JSON and multipart), model info, health, OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from inference import ParameterError
from inference.annotate import PALETTE

from . import pipeline
from .errors import ApiError, error_response
from .models import ModelSet
from .openapi import openapi_document
from .responses import json_response
from .tokens import require_token

bp = Blueprint("api", __name__)


@bp.post("/api/predict")
@bp.post("/")
def predict() -> Response:
    """Detect objects in one or more images; one result slot per image, in order (webapp/pipeline.py)."""
    require_token()
    return pipeline.answer(_models())


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
        model = models.resolve(request.args.get("model") or None)
    except ParameterError as exc:
        raise ApiError(422, "invalid_parameter", str(exc)) from None
    config = current_app.config
    limits = {
        "max_batch": config["MAX_BATCH"],
        "max_request_bytes": config["MAX_CONTENT_LENGTH"],
        "max_image_pixels": config["MAX_IMAGE_PIXELS"],
        "workers": config["WORKERS"] or None,
    }
    description = models.describe(model)
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
