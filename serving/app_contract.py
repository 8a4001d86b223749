"""What the worker's own answers share with the app's: security headers and the request id rule.

Imported from webapp lazily, in the worker process (never the gunicorn master, which must stay free of the app),
and only here: the worker's other modules ask this one.
"""

from __future__ import annotations


def security_headers() -> dict[str, str]:
    """The headers the app puts on every answer."""
    from webapp.views import SECURITY_HEADERS

    return SECURITY_HEADERS


def request_id_header() -> str:
    """The header that carries a request's id, both ways."""
    from webapp.request_log import REQUEST_ID_HEADER

    return REQUEST_ID_HEADER


def request_id(client_value: str | None) -> str:
    """The client's id when the app would keep it, else a fresh one: the same rule as the app's."""
    from webapp.request_log import request_id_from

    return request_id_from(client_value)


def loggable(text: str) -> str:
    """A path as the app logs it: control characters escaped, length bounded."""
    from webapp.request_log import loggable as app_loggable

    return app_loggable(text)
