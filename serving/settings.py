"""The serving layer's limits on slow clients, read from the environment; each default is declared here once."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One environment variable of the serving layer."""

    name: str
    default: float
    help: str


SETTINGS = (
    Setting("SERVE_HEADER_TIMEOUT_S", 10, "seconds a new connection gets to send its request line and headers"),
    Setting("SERVE_IDLE_TIMEOUT_S", 10, "longest pause allowed while a request body arrives or an answer is read"),
    Setting("SERVE_MIN_BYTES_PER_S", 16384,
            "slowest average rate allowed for a request body or an answer, counted from its start"),
    Setting("SERVE_BUFFER_BYTES", 64 * 1024 * 1024,
            "request bytes one worker holds at once (bodies received, until answered); an upload past it gets 503"),
)  # fmt: skip
SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class ServingSettings:
    """The values in force."""

    header_timeout_s: float
    idle_timeout_s: float
    min_bytes_per_s: float
    buffer_bytes: int

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> ServingSettings:
        """Every setting from `environ` (default os.environ) or its default; a bad value names its variable."""
        environ = os.environ if environ is None else environ
        value = {setting.name: _positive(setting, environ.get(setting.name)) for setting in SETTINGS}
        return cls(
            header_timeout_s=value["SERVE_HEADER_TIMEOUT_S"],
            idle_timeout_s=value["SERVE_IDLE_TIMEOUT_S"],
            min_bytes_per_s=value["SERVE_MIN_BYTES_PER_S"],
            buffer_bytes=int(value["SERVE_BUFFER_BYTES"]),
        )


def _positive(setting: Setting, raw: str | None) -> float:
    """The variable's number, or its default when unset; anything not a positive number is an error."""
    if raw is None or not raw.strip():
        return setting.default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"configuration error: {setting.name} must be a number, got {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"configuration error: {setting.name} must be a positive number, got {raw!r}")
    return value
