"""Prediction parameters: defaults, validation and the "explicit 0 means 0" rule."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError

MAX_RESULTS_LIMIT = 1000

# name in requests -> (attribute, default, minimum, maximum, is_integer)
_FIELDS = {
    "score_th": ("score_th", 0.3, 0.0, 1.0, False),
    "nms_iou": ("nms_iou", 0.4, 0.0, 1.0, False),
    "min_height": ("min_height", 0.03, 0.0, 1.0, False),
    "min_width": ("min_width", 0.03, 0.0, 1.0, False),
    "maxResults": ("max_results", 20, 0, MAX_RESULTS_LIMIT, True),
}
# Every parameter a request may carry in features[0] (or as a form field).
REQUEST_FIELDS = (*_FIELDS, "classes")


@dataclass(frozen=True)
class PredictParams:
    """Thresholds for one prediction; sizes are fractions of the image height / width."""

    score_th: float = 0.3
    nms_iou: float = 0.4
    min_height: float = 0.03
    min_width: float = 0.03
    max_results: int = 20
    classes: tuple[str | int, ...] | None = None  # names or ids to keep; None keeps all

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None, *, strings_allowed: bool = False) -> PredictParams:
        """Build from a request's feature dict; a missing or null field takes its default, 0 stays 0.

        `strings_allowed` accepts numeric strings, as HTML forms send them.
        """
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise ParameterError(f"features must be an object, got {type(values).__name__}")
        chosen: dict[str, Any] = {}
        for name, (attribute, default, low, high, integer) in _FIELDS.items():
            raw = values.get(name)
            if raw is None or (strings_allowed and raw == ""):
                chosen[attribute] = default
                continue
            chosen[attribute] = _number(name, raw, low, high, integer, strings_allowed)
        chosen["classes"] = _classes(values.get("classes"), strings_allowed)
        return cls(**chosen)


def _number(name: str, raw: Any, low: float, high: float, integer: bool, strings_allowed: bool) -> float | int:
    """Validate one numeric field."""
    if strings_allowed and isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise ParameterError(f"{name} must be a number, got {raw!r}") from None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ParameterError(f"{name} must be a number, got {type(raw).__name__}")
    if isinstance(raw, float) and not math.isfinite(raw):  # ints may be too big for math.isnan; ranges catch them
        raise ParameterError(f"{name} must be a finite number, got {raw}")
    if integer:
        if raw != int(raw):
            raise ParameterError(f"{name} must be a whole number, got {raw}")
        raw = int(raw)
    if not low <= raw <= high:
        raise ParameterError(f"{name} must be between {low} and {high}, got {raw}")
    return raw if integer else float(raw)


def _classes(raw: Any, strings_allowed: bool) -> tuple[str | int, ...] | None:
    """A list of class names or ids (a comma-separated string from a form)."""
    if raw is None or (strings_allowed and raw == ""):  # an empty form field means "all", like other defaults
        return None
    if strings_allowed and isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
        raw = [int(part) if part.isdigit() else part for part in raw]
    if not isinstance(raw, list) or not raw:
        raise ParameterError("classes must be a non-empty list of class names or ids")
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ParameterError(f"classes must hold class names or ids, got {item!r}")
    return tuple(raw)
