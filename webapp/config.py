"""Configuration from environment variables, each with a documented default (see README)."""
from __future__ import annotations

import os
from pathlib import Path

_MODELS = Path(__file__).resolve().parent.parent / "inference" / "models"
# MODEL_VARIANT -> embedded file; int8 is tools/quantize_model.py's output (speed and accuracy in its model card).
EMBEDDED_VARIANTS = {"float": _MODELS / "yolox_nano.onnx", "int8": _MODELS / "yolox_nano_int8.onnx"}
EMBEDDED_MODEL = EMBEDDED_VARIANTS["float"]
EMBEDDED_MODEL_SOURCE = "YOLOX-Nano (Megvii-BaseDetection/YOLOX), embedded; see inference/models/MODEL_CARD.md"
EMBEDDED_MODEL_LICENCE = "Apache-2.0"


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


def embedded_model(variant: str) -> Path:
    """The embedded model file for a MODEL_VARIANT value."""
    if variant not in EMBEDDED_VARIANTS:
        choices = ", ".join(EMBEDDED_VARIANTS)
        raise ConfigError(f"configuration error: MODEL_VARIANT must be one of {choices}, got {variant!r}")
    return EMBEDDED_VARIANTS[variant]


def _list(name: str) -> list[str]:
    """A comma-separated environment variable as a list without empty items."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def from_environment() -> dict:
    """Every setting the application reads, from the environment or its default."""
    return {
        # The model
        "MODEL_VARIANT": (os.environ.get("MODEL_VARIANT") or "float").strip().lower(),  # embedded model: float | int8
        "MODEL_PATH": os.environ.get("MODEL_PATH") or "",  # empty = the embedded default model
        "MODEL_URL": os.environ.get("MODEL_URL") or "",
        "MODEL_SHA256": os.environ.get("MODEL_SHA256") or "",
        "MODEL_CACHE_DIR": os.environ.get("MODEL_CACHE_DIR") or str(Path.home() / ".cache" / "detection-server"),
        "MODEL_MAX_DOWNLOAD_BYTES": _int("MODEL_MAX_DOWNLOAD_BYTES", 500 * 1024 * 1024, minimum=1),
        "MODEL_FAMILY": os.environ.get("MODEL_FAMILY") or None,  # None = detect from outputs/metadata
        "MODEL_LABELS": os.environ.get("MODEL_LABELS") or None,  # labels file, one class per line
        "MODEL_INPUT_SIZE": _int("MODEL_INPUT_SIZE", 0, minimum=0) or None,  # 0 = unset; for a symbolic input size
        "ORT_INTRA_OP_THREADS": _int("ORT_INTRA_OP_THREADS", 0, minimum=0),  # 0 = gunicorn.conf.py / ORT decides
        "EXECUTION_PROVIDERS": _list("EXECUTION_PROVIDERS") or ["CPUExecutionProvider"],
        # Security
        "API_TOKENS": _list("API_TOKENS"),  # empty = the API is open
        "CORS_ORIGINS": _list("CORS_ORIGINS"),  # empty = no cross-origin access
        # Limits
        "MAX_CONTENT_LENGTH": _int("MAX_REQUEST_BYTES", 20 * 1024 * 1024, minimum=1),
        "MAX_IMAGE_PIXELS": _int("MAX_IMAGE_PIXELS", 40_000_000, minimum=1),
        "MAX_IMAGE_SIDE": _int("MAX_IMAGE_SIDE", 12_000, minimum=1),
        "MAX_BATCH": _int("MAX_BATCH", 16, minimum=1),
        # Seconds a prediction request may run: batch slots not started by then answer 503 request_timeout.
        "REQUEST_TIMEOUT_S": _int("REQUEST_TIMEOUT_S", 20, minimum=1),
        # Logging
        "LOG_FORMAT": (os.environ.get("LOG_FORMAT") or "text").lower(),  # text | json
        "LOG_LEVEL": (os.environ.get("LOG_LEVEL") or "INFO").upper(),
    }
