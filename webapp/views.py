"""Page blueprint: the upload page, the API docs page, and the security headers every response carries."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

from serving.contract import SECURITY_HEADERS

from . import wire
from .examples import EXAMPLES

bp = Blueprint("views", __name__)

@bp.get("/")
def index() -> str:
    """The upload page."""
    models = current_app.extensions.get("models")
    described = [models.describe(m) for m in models.entries] if models else []
    default = described[0] if described else None  # the default model comes first
    return render_template(
        "index.html",
        model_name=default["name"] if default else "(loading)",
        models=described,
        parameters=default["parameters"] if default else wire.parameters_description({}),
        auth_required=bool(current_app.config["API_TOKENS"]),
        # The page refuses larger files itself: the server may drop the connection before it can answer 413.
        max_request_bytes=current_app.config["MAX_CONTENT_LENGTH"] or 0,
        examples=EXAMPLES,
    )


@bp.get("/docs")
def api_docs() -> str:
    """The API reference, rendered in the browser by the vendored Swagger UI from /api/openapi.json."""
    return render_template("docs.html")


@bp.after_app_request
def add_security_headers(response: Response) -> Response:
    """CSP, no MIME sniffing, no framing, no referrer leaks, on every response."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
