"""Errors the worker answers itself (malformed HTTP, slow clients, overload) as the app's JSON, with its headers."""

from __future__ import annotations

import json
import re
from http import HTTPStatus

from gunicorn.http import errors as http_errors

from .contract import error_body

# gunicorn's parse errors -> (status, code, message). The message never echoes the request: nothing reflected,
# no query string repeated.
_PARSE_ERRORS = (
    (http_errors.LimitRequestLine, 414, "uri_too_long", "the request line is too long"),
    (http_errors.LimitRequestHeaders, 431, "headers_too_large", "the request has too many or too large headers"),
    (
        http_errors.UnsupportedTransferCoding,
        501,
        "unsupported_transfer_coding",
        "this Transfer-Encoding is not supported: send Content-Length or chunked",
    ),
    (http_errors.ExpectationFailed, 417, "expectation_failed", "the Expect header cannot be met"),
    (http_errors.ForbiddenProxyRequest, 403, "forbidden", "request forbidden"),
    (
        (http_errors.InvalidChunkSize, http_errors.ChunkMissingTerminator, http_errors.InvalidChunkExtension),
        400,
        "malformed_body",
        "the chunked request body is malformed",
    ),
    (http_errors.ConfigurationProblem, 500, "internal_error", "the server is misconfigured; it has been logged"),
    (http_errors.ParseException, 400, "bad_request", "the request is not valid HTTP/1.1"),
)
_INTERNAL = (500, "internal_error", "the server failed to handle this request; it has been logged")
_QUERY = re.compile(r"\?[^\s'\"]*")
_MAX_LOGGED = 200


def classify(exc: BaseException) -> tuple[int, str, str]:
    """(status, code, message) to answer for an exception raised while reading or serving a request."""
    if isinstance(exc, (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName)):
        return _INTERNAL  # a header the application tried to send: our fault, not the client's
    for kinds, status, code, message in _PARSE_ERRORS:
        if isinstance(exc, kinds):
            return status, code, message
    return _INTERNAL


def describe(exc: BaseException) -> str:
    """The exception for the log: query strings cut, control characters escaped, length bounded."""
    text = _QUERY.sub("?...", f"{type(exc).__name__}: {exc}")
    text = text.encode("unicode_escape").decode("ascii")  # a CR/LF in a request must not start a log line
    return text if len(text) <= _MAX_LOGGED else text[:_MAX_LOGGED] + "..."


def error_response_bytes(status: int, code: str, message: str, headers: dict[str, str]) -> bytes:
    """A complete HTTP/1.1 response: the API's error JSON, `headers` (security, Retry-After...), Connection: close."""
    body = json.dumps(error_body(status, code, message)).encode()
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
