"""Log line formats the app (request_log.py) and gunicorn (gunicorn.conf.py) share, so both write alike.

gunicorn.conf.py loads this file by path in the master, before any app code runs: keep its imports to the
standard library and python-json-logger (no Flask, nothing from webapp or inference).
"""

from __future__ import annotations

from pythonjsonlogger.json import JsonFormatter

# The record attributes of a JSON line, and the shorter keys they are written under.
JSON_FIELDS = ["asctime", "levelname", "name", "process", "request_id", "message"]
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"}


def json_formatter(static_fields: dict | None = None) -> JsonFormatter:
    """One JSON object per line with JSON_FIELDS; `static_fields` override those a record lacks."""
    return JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES, static_fields=static_fields or {})
