"""Application factory: configuration, the Detector (once per process), blueprints, JSON errors."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from inference import Detector, ModelError

from . import config as config_module
from .errors import ApiError, error_response, http_exception_response
from .metrics import init_metrics
from .model_source import resolve_model_path
from .request_log import init_request_logging


def create_app(config: dict | None = None) -> Flask:
    """Build the app; `config` overrides the environment (tests), e.g. {"API_TOKENS": ["x"]}."""
    app = Flask(__name__)
    app.config.from_mapping(config_module.from_environment())
    app.config.update(config or {})
    app.json.sort_keys = False
    if "gunicorn" in os.environ.get("SERVER_SOFTWARE", ""):
        # FLASK_DEBUG=1 left in a production environment must not expose debug behaviour.
        app.debug = False
    init_request_logging(app)

    if app.config.get("LOAD_MODEL", True):
        try:
            app.extensions["detector"] = load_detector(app.config)
        except ModelError as exc:
            # One plain line before gunicorn's traceback; re-raised so gunicorn halts instead of respawning.
            app.logger.critical("cannot start: %s", exc)
            raise

    from . import api, views

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    _register_error_handlers(app)
    init_metrics(app)
    if app.config["CORS_ORIGINS"]:
        # Browser clients served from elsewhere; off unless origins are configured.
        CORS(app, resources={r"/api/*": {}, r"/": {}}, origins=app.config["CORS_ORIGINS"],
             allow_headers=["Content-Type", "X-Api-Token"], methods=["GET", "POST"])
    return app


def load_detector(config: dict) -> Detector:
    """The Detector the configuration names, loaded and warmed up."""
    embedded = config_module.embedded_model(config.get("MODEL_VARIANT", "float"))
    path = resolve_model_path(config, embedded)
    is_embedded = path == embedded
    try:
        return _detector(config, path, is_embedded)
    except ModelError as exc:
        # Name the setting to fix: Detector's own messages cannot know it.
        setting = "the embedded model" if is_embedded else f"MODEL_URL={config['MODEL_URL']}"
        setting = f"MODEL_PATH={path}" if config["MODEL_PATH"] else setting
        raise ModelError(f"{setting}: {exc}") from None


def _detector(config: dict, path: Path, is_embedded: bool) -> Detector:
    """Detector(path) with the configured family, labels, input size, threads and providers."""
    return Detector(
        path,
        family=config["MODEL_FAMILY"],
        class_names=config["MODEL_LABELS"],
        input_size=config["MODEL_INPUT_SIZE"],
        intra_op_threads=config["ORT_INTRA_OP_THREADS"],
        providers=config["EXECUTION_PROVIDERS"],
        source=_embedded_source(config) if is_embedded else (config["MODEL_URL"] or str(path)),
        licence=config_module.EMBEDDED_MODEL_LICENCE if is_embedded else "",
    )


def _embedded_source(config: dict) -> str:
    """Where the embedded model came from, naming the quantisation for the int8 variant."""
    if config.get("MODEL_VARIANT", "float") == "int8":
        return config_module.EMBEDDED_MODEL_SOURCE + "; int8-quantised by tools/quantize_model.py"
    return config_module.EMBEDDED_MODEL_SOURCE


def _register_error_handlers(app: Flask) -> None:
    """Every API error is JSON; the page keeps Flask's plain pages for 404s a person types."""

    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        headers = {"WWW-Authenticate": 'ApiToken header="X-Api-Token"'} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, headers)

    @app.errorhandler(RequestEntityTooLarge)
    def handle_too_large(exc: RequestEntityTooLarge):
        total, field = app.config["MAX_CONTENT_LENGTH"], app.config["MAX_FORM_MEMORY_SIZE"]
        message = f"the request is too large: at most {total} bytes in all, {field} bytes per non-file form field"
        return error_response(413, "request_too_large", message)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        if request.path.startswith("/api") or request.method != "GET" or exc.code == 413:
            return http_exception_response(exc)
        return exc

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        # Never a traceback in a response: log it, answer a generic 500.
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "the server failed to handle this request; it has been logged")
