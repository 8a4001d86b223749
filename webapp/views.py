"""Page blueprint: the upload page, and the security headers every response carries."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

bp = Blueprint("views", __name__)

# No inline script or style, nothing from another origin: the page works offline and XSS has nowhere to run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@bp.get("/")
def index() -> str:
    """The upload page."""
    detector = current_app.extensions.get("detector")
    return render_template(
        "index.html",
        model_name=detector.info.name if detector else "(loading)",
        auth_required=bool(current_app.config["API_TOKENS"]),
        # The page refuses larger files itself: the server may drop the connection before it can answer 413.
        max_request_bytes=current_app.config["MAX_CONTENT_LENGTH"] or 0,
    )


@bp.after_app_request
def add_security_headers(response: Response) -> Response:
    """CSP, no MIME sniffing, no framing, no referrer leaks, on every response."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response
