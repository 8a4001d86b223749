"""Application factory: configuration, the models (loaded once per process), the result cache, blueprints."""

from __future__ import annotations

import os

from flask import Flask, Response, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from .errors import ApiError, error_response, http_exception_response
from .metrics import init_metrics
from .models import load_models
from .rate_limits import init_rate_limits
from .request_log import init_request_logging
from .result_cache import open_cache
from .static_assets import init_static_assets


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

    if app.config["LOAD_MODEL"]:  # false: no models (tests and tools that need only the routes)
        models = load_models(app.config)  # a ModelError says which setting to fix (webapp/wsgi.py prints it)
        app.extensions["models"] = models
        for model in models.entries:
            info = model.detector.info
            app.logger.info(
                "model %s loaded: family %s, %s, sha256 %s, warm-up %.0f ms%s",
                info.name,
                info.family,
                model.facts.get("source", ""),
                info.sha256[:12],
                info.warm_up_ms,
                " (default)" if model is models.default else "",
            )
    app.extensions["result_cache"] = open_cache(app.config)

    from . import api, views

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    init_static_assets(app)
    _register_error_handlers(app)
    init_metrics(app)
    init_rate_limits(app)
    if app.config["TRUSTED_PROXIES"]:
        # The client is the address that many proxies back in X-Forwarded-For: what a client writes there itself
        # is further left and ignored (rate limits and logs must not trust it).
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    if app.config["CORS_ORIGINS"]:
        # Browser clients served from elsewhere; off unless origins are configured. flask-cors adds Vary: Origin.
        CORS(
            app,
            resources={r"/api/*": {}, r"/": {}},
            origins=app.config["CORS_ORIGINS"],
            allow_headers=["Content-Type", "X-Api-Token"],
            methods=["GET", "POST"],
            vary_header=True,
        )
        app.after_request(_vary_on_origin)
    return app


def _vary_on_origin(response: Response) -> Response:
    """With CORS on, answers depend on the Origin header (flask-cors leaves Vary out when one origin is configured,
    and for requests without Origin): a shared cache must not serve one origin's answer to another."""
    response.vary.add("Origin")
    return response


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
        if type(exc).__module__.startswith("gunicorn.http"):
            # The server could not read the body (malformed chunked framing) under a worker that does not read
            # whole requests first (serving/worker.py answers these itself): the client's mistake.
            return error_response(400, "malformed_body", "the request body could not be read: its framing is malformed")
        # Never a traceback in a response: log it, answer a generic 500.
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "the server failed to handle this request; it has been logged")
