"""What the server tells a client before the first image: model, classes, colours, batch and size limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FALLBACK_MAX_BATCH = 16  # the server's long-standing default, for a server that states no limit


@dataclass(frozen=True)
class ServerInfo:
    """From GET /api/model (and the OpenAPI document for an older server); None where the server says nothing."""

    model: str | None
    class_names: tuple[str, ...]
    palette: tuple[str, ...]  # "#rrggbb" per class id modulo its length, as the page draws
    max_batch: int
    max_request_bytes: int | None
    workers: int | None  # how many requests the server works on at once, if it says

    @classmethod
    def from_model_info(cls, info: dict[str, Any], openapi: Any = None) -> ServerInfo:
        """Read the fields this client uses, ignoring the rest."""
        limits = info.get("limits") if isinstance(info.get("limits"), dict) else {}
        max_batch = _positive_int(limits.get("max_batch")) or _openapi_max_batch(openapi) or FALLBACK_MAX_BATCH
        return cls(
            model=info.get("name") if isinstance(info.get("name"), str) else None,
            class_names=tuple(str(name) for name in info.get("class_names") or ()),
            palette=tuple(colour for colour in info.get("palette") or () if _is_colour(colour)),
            max_batch=max_batch,
            max_request_bytes=_positive_int(limits.get("max_request_bytes")),
            workers=_positive_int(limits.get("workers")),
        )


def _openapi_max_batch(document: Any) -> int | None:
    """maxItems of the prediction request's `requests` array."""
    try:
        return _positive_int(document["components"]["schemas"]["PredictRequest"]["properties"]["requests"]["maxItems"])
    except (KeyError, TypeError):
        return None


def _positive_int(value: Any) -> int | None:
    """value if it is an int >= 1 (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def _is_colour(value: Any) -> bool:
    """A "#rrggbb" string."""
    if not (isinstance(value, str) and len(value) == 7 and value.startswith("#")):
        return False
    try:
        int(value[1:], 16)
    except ValueError:
        return False
    return True
