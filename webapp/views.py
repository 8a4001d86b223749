"""Page blueprint: the upload page, the API docs page, and the security headers every response carries."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

from inference.params import merged_defaults
from serving.contract import SECURITY_HEADERS

from . import wire
from .examples import EXAMPLES

bp = Blueprint("views", __name__)


@bp.get("/")
def index() -> str:
    """The upload page."""
    config = current_app.config
    # With INFO_REQUIRES_TOKEN the page names no model and shows no model's defaults: it asks for them with the token.
    info_locked = bool(config["API_TOKENS"]) and bool(config["INFO_REQUIRES_TOKEN"])
    models = None if info_locked else current_app.extensions.get("models")
    described = [models.describe(m) for m in models.entries] if models else []
    default = described[0] if described else None  # the default model comes first
    return render_template(
        "index.html",
        model_title=(default.get("title") or default["name"]) if default else "",
        models=described,
        parameters=default["parameters"] if default else wire.parameters_description(merged_defaults()),
        auth_required=bool(config["API_TOKENS"]),
        info_locked=info_locked,
        # The page refuses larger files itself: the server may drop the connection before it can answer 413.
        max_request_bytes=config["MAX_CONTENT_LENGTH"] or 0,
        examples=EXAMPLES,
    )


@bp.get("/docs")
def api_docs() -> str:
    """The API reference, rendered in the browser by the vendored Swagger UI from /api/openapi.json."""
    return render_template("docs.html")


@bp.after_app_request
def add_security_headers(response: Response) -> Response:
    """CSP, no MIME sniffing, no framing, no referrer leaks, on every response (a view's own value stays)."""
    # Not Headers.setdefault: it raises and catches a KeyError for each header missing, i.e. 4 per request.
    present = {name.lower() for name, _ in response.headers}
    response.headers.extend((name, value) for name, value in SECURITY_HEADERS.items() if name.lower() not in present)
    return response
