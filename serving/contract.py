"""What the app and the worker that serves it agree on: environ keys, security headers, the error body, request
ids. Standard library only: the gunicorn master, the worker (serving/) and the app (webapp/) all import it, and
nothing in serving/ imports webapp/.
"""

from __future__ import annotations

import re
import uuid

# WSGI environ key under which the worker passes `run(client, func, *args, **kwargs)`: it runs CPU-bound work
# (decoding, the model) in the worker's one model thread, so the event loop keeps reading, writing and answering
# health checks; `client` (who asks: token or address) is whose turn the job waits for.
MODEL_THREAD_KEY = "serving.run_in_model_thread"

# WSGI environ key under which the worker passes `hold(seconds)`: the connection waits before its answer while the
# worker goes on serving others (a cooperative sleep; skipped when the worker's connection slots are filling up).
HOLD_KEY = "serving.hold"

# No inline script or style, nothing from another origin: the page works offline and XSS has nowhere to run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# On every answer, the app's and those the worker writes itself.
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_MAX_LOGGED_PATH = 300


def error_body(status: int, code: str, message: str) -> dict:
    """The JSON body of every error answer: {"error": {"status", "code", "message"}}."""
    return {"error": {"status": status, "code": code, "message": message}}


def request_id_from(header_value: str | None) -> str:
    """The client's id when it is sane (no log injection, bounded length), else a fresh one."""
    if header_value and _SANE_REQUEST_ID.fullmatch(header_value):
        return header_value
    return uuid.uuid4().hex


def escape_control_characters(text: str) -> str:
    """Control characters as \\xNN: a URL-decoded %0A must not start a forged log line."""
    return _CONTROL_CHARACTERS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def loggable(text: str) -> str:
    """A path for the log: control characters escaped, length bounded."""
    escaped = escape_control_characters(text)
    return escaped if len(escaped) <= _MAX_LOGGED_PATH else escaped[:_MAX_LOGGED_PATH] + "..."
