"""Logging: text or JSON lines on stderr, a request id on every line, one access line per request."""

from __future__ import annotations

import logging
import sys
import time

from flask import Flask, Response, g, has_request_context, request

from serving.contract import REQUEST_ID_HEADER, loggable, request_id_from

from .log_format import json_formatter

_TEXT_FORMAT = "%(asctime)s %(levelname)s [pid %(process)d] [%(request_id)s] %(name)s: %(message)s"

access_logger = logging.getLogger("webapp.access")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (so captured output in tests sees it too)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being handled ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def configure_logging(log_format: str, level: str) -> logging.Handler:
    """Install the one root handler (replacing an earlier one of ours): JSON when log_format is "json"."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_webapp_handler", False)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler._webapp_handler = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # Record no caller, thread or multiprocessing name: neither format writes them, and the access line is written
    # for every request (the logging HOWTO's "Optimization" section; the caller lookup walks the stack each time).
    logging._srcfile = None
    logging.logThreads = logging.logMultiprocessing = False
    return handler


def request_seconds() -> float:
    """Seconds since the request started (stamped once, by the first hook; the access line and the metrics ask)."""
    return time.perf_counter() - g.get("request_started", time.perf_counter())


def init_request_logging(app: Flask) -> None:
    """Configure logging from app.config and log one access line per request."""
    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])

    @app.before_request
    def assign_request_id() -> None:
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.request_started = time.perf_counter()

    @app.after_request
    def log_access(response: Response) -> Response:
        if "request_id" not in g:  # a request that failed before before_request ran
            g.request_id = request_id_from(None)
        response.headers[REQUEST_ID_HEADER] = g.request_id
        duration_ms = round(request_seconds() * 1000, 2)
        # Method and path only: no query string, header, token or body ever reaches the log.
        method, path = loggable(request.method), loggable(request.path)
        access_logger.info(
            "%s %s %s %.2fms",
            method,
            path,
            response.status_code,
            duration_ms,
            extra={"method": method, "path": path, "status": response.status_code, "duration_ms": duration_ms},
        )
        return response
