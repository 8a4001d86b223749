"""Configuration from environment variables, each with a documented default (see README)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


DEFAULT_MAX_BATCH = 16  # images per request; the OpenAPI document and the Postman collection say it too


class ConfigError(ValueError):
    """A setting's value is unusable. An exception, not SystemExit: gunicorn respawns workers that exit(1)."""


def _int(name: str, default: int, minimum: int) -> int:
    """An integer environment variable of at least `minimum`, with the variable named in the error."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"configuration error: {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        # A zero or negative limit would refuse every request (or none) instead of failing here, clearly.
        raise ConfigError(f"configuration error: {name} must be at least {minimum}, got {value}")
    return value


def _flag(name: str, default: bool) -> bool:
    """A yes/no environment variable."""
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"configuration error: {name} must be true or false, got {raw!r}")


def _cache_url(name: str) -> str:
    """A Redis URL, or "" for the embedded cache; anything else fails at start-up with the variable named."""
    raw = (os.environ.get(name) or "").strip()
    if raw and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"configuration error: {name} must be a redis://, rediss:// or unix:// URL, got {raw!r}")
    return raw


def _rate_limit(name: str, default: str) -> str:
    """Limits in the `limits` notation ("200 per 10 seconds; 1200 per minute"), or "" for "off"."""
    raw = (os.environ.get(name) or "").strip() or default
    if raw.lower() in ("off", "none", "0"):
        return ""
    from limits import parse_many  # here, so gunicorn's master (which reads this module) stays light

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"configuration error: {name} must look like '200 per 10 seconds; 1200 per minute' "
                          f"or be 'off', got {raw!r}") from None
    return raw


def _choice(name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first is the default), case-insensitive."""
    raw = (os.environ.get(name) or choices[0]).strip().lower()
    if raw not in choices:
        raise ConfigError(f"configuration error: {name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _list(name: str) -> list[str]:
    """A comma-separated environment variable as a list without empty items."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def from_environment() -> dict:
    """Every setting the application reads, from the environment or its default."""
    return {
        # The models: embedded names, paths or URLs; the first is the default. Empty = every embedded model;
        # MODEL_PATH or MODEL_URL alone (the single-model settings) serve that one model.
        "MODELS": _list("MODELS") or _list("MODEL_PATH") or _list("MODEL_URL"),
        # Which variable MODELS came from, for start-up errors that name the setting to fix.
        "MODELS_SETTING": next((name for name in ("MODELS", "MODEL_PATH", "MODEL_URL") if os.environ.get(name)), "MODELS"),
        "MODEL_SHA256": os.environ.get("MODEL_SHA256") or "",
        "MODEL_CACHE_DIR": os.environ.get("MODEL_CACHE_DIR") or str(Path.home() / ".cache" / "detection-server"),
        "MODEL_MAX_DOWNLOAD_BYTES": _int("MODEL_MAX_DOWNLOAD_BYTES", 500 * 1024 * 1024, minimum=1),
        # For models that are not embedded:
        "MODEL_FAMILY": os.environ.get("MODEL_FAMILY") or None,  # None = detect from outputs/metadata
        "MODEL_LABELS": os.environ.get("MODEL_LABELS") or None,  # labels file, one class per line
        "MODEL_INPUT_SIZE": _int("MODEL_INPUT_SIZE", 0, minimum=0) or None,  # 0 = unset; for a symbolic input size
        "ORT_INTRA_OP_THREADS": _int("ORT_INTRA_OP_THREADS", 0, minimum=0),  # 0 = gunicorn.conf.py / ORT decides
        "EXECUTION_PROVIDERS": _list("EXECUTION_PROVIDERS") or ["CPUExecutionProvider"],
        # Security
        "API_TOKENS": _list("API_TOKENS"),  # empty = the API is open
        "CORS_ORIGINS": _list("CORS_ORIGINS"),  # empty = no cross-origin access
        # With tokens set: /api/model(s) and /api/openapi.json need one too (the page then asks for it first).
        "INFO_REQUIRES_TOKEN": _flag("INFO_REQUIRES_TOKEN", False),
        # With tokens set: /metrics needs one too (X-Api-Token, or Prometheus' `Authorization: Bearer`).
        "METRICS_REQUIRES_TOKEN": _flag("METRICS_REQUIRES_TOKEN", True),
        # The per-image result cache, shared by the workers of this instance; 0 bytes = off.
        "CACHE_BYTES": _int("CACHE_BYTES", 128 * 1024 * 1024, minimum=0),
        "CACHE_DIR": os.environ.get("CACHE_DIR") or str(Path(tempfile.gettempdir()) / f"detection-server-cache-{os.getuid()}"),
        # Several instances (docs/scaling.md): the cache and the rate-limit counters in this Redis instead;
        # each cached image expires CACHE_TTL_S after it was stored (Redis's maxmemory policy bounds the total).
        "CACHE_URL": _cache_url("CACHE_URL"),
        "CACHE_TTL_S": _int("CACHE_TTL_S", 3600, minimum=1),
        # Images per client (API token, else IP address) over every instance sharing CACHE_URL; "off" = no limit.
        "RATE_LIMIT": _rate_limit("RATE_LIMIT", "200 per 10 seconds; 1200 per minute"),
        # Proxies in front that append to X-Forwarded-For (a PaaS router: 1); 0 = the peer address is the client.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0, minimum=0),
        # Limits
        "MAX_CONTENT_LENGTH": _int("MAX_REQUEST_BYTES", 20 * 1024 * 1024, minimum=1),
        "MAX_IMAGE_PIXELS": _int("MAX_IMAGE_PIXELS", 40_000_000, minimum=1),
        "MAX_IMAGE_SIDE": _int("MAX_IMAGE_SIDE", 12_000, minimum=1),
        "MAX_BATCH": _int("MAX_BATCH", DEFAULT_MAX_BATCH, minimum=1),
        # gunicorn's worker processes (gunicorn.conf.py sets it); 0 = not known (Flask's dev server, tests).
        "WORKERS": _int("WEB_CONCURRENCY", 0, minimum=0),
        # Annotated images (annotate=true): format, longest side, and the bytes of them one answer may carry.
        "ANNOTATE_FORMAT": _choice("ANNOTATE_FORMAT", ("jpeg", "png")),
        "ANNOTATE_MAX_SIDE": _int("ANNOTATE_MAX_SIDE", 2048, minimum=16),
        "ANNOTATE_MAX_BYTES": _int("ANNOTATE_MAX_BYTES", 16 * 1024 * 1024, minimum=1),
        # Seconds a prediction request may run: batch slots not started by then answer 503 request_timeout.
        "REQUEST_TIMEOUT_S": _int("REQUEST_TIMEOUT_S", 20, minimum=1),
        # Logging
        "LOG_FORMAT": (os.environ.get("LOG_FORMAT") or "text").lower(),  # text | json
        "LOG_LEVEL": (os.environ.get("LOG_LEVEL") or "INFO").upper(),
    }
