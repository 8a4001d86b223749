"""Prediction parameters: the one declaration of each (name, default, range, help), validation, "0 means 0"."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from .errors import ParameterError


@dataclass(frozen=True)
class Parameter:
    """One numeric request parameter. OpenAPI, the page's sliders, the docs and the clients derive from it."""

    name: str  # as sent in a request (JSON feature or form field)
    attribute: str  # on PredictParams
    kind: type  # float or int
    default: float | int
    minimum: float | int
    maximum: float | int
    label: str  # for people (the page's slider)
    help: str
    slider: tuple[float, float, float]  # the page's (min, max, step): the useful part of the range

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for /api/model and the page."""
        return {
            "name": self.name,
            "type": "integer" if self.kind is int else "number",
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "label": self.label,
            "help": self.help,
            "slider": {"min": self.slider[0], "max": self.slider[1], "step": self.slider[2]},
        }


PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "score_th",
        "score_th",
        float,
        0.3,
        0.0,
        1.0,
        "Minimum score",
        "keep detections scoring at least this",
        (0.01, 1.0, 0.01),
    ),
    Parameter(
        "nms_iou",
        "nms_iou",
        float,
        0.4,
        0.0,
        1.0,
        "Overlap allowed",
        "boxes of one class overlapping more than this are merged (lower merges more)",
        (0.0, 1.0, 0.01),
    ),
    Parameter(
        "min_height",
        "min_height",
        float,
        0.03,
        0.0,
        1.0,
        "Minimum box height",
        "drop boxes shorter than this fraction of the image height",
        (0.0, 0.5, 0.01),
    ),
    Parameter(
        "min_width",
        "min_width",
        float,
        0.03,
        0.0,
        1.0,
        "Minimum box width",
        "drop boxes narrower than this fraction of the image width",
        (0.0, 0.5, 0.01),
    ),
    Parameter(
        "maxResults",
        "max_results",
        int,
        20,
        0,
        1000,
        "Maximum results",
        "keep at most this many, best first",
        (1, 100, 1),
    ),
)
PARAMETERS_BY_NAME = {parameter.name: parameter for parameter in PARAMETERS}


@dataclass(frozen=True)
class RequestLimits:
    """The most each list or string of a request may hold (the numeric PARAMETERS carry their own ranges).

    Checked where each is parsed (here and webapp/parsing.py), before any work per item; webapp/openapi.py
    publishes them as maxItems / maxLength. The images per request are MAX_BATCH, a setting.
    """

    classes: int = 1000  # names or ids in one class filter
    class_name: int = 100  # characters of one class name
    model_name: int = 200  # characters of a model name
    features: int = 16  # entries of `features` (only the first is read)

    @property
    def classes_field(self) -> int:
        """Characters of a form's comma-separated class filter: the most names, each with a comma and a space."""
        return self.classes * (self.class_name + 2)


REQUEST_LIMITS = RequestLimits()
# The class filter: names or ids; not numeric, so not in PARAMETERS.
CLASSES_HELP = "keep only these classes (names or ids; a comma-separated string in a form)"
# Every parameter a request may carry in features[0] (or as a form field).
REQUEST_FIELDS = (*PARAMETERS_BY_NAME, "classes")


def merged_defaults(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Every parameter's default by request name, with `overrides` (e.g. a model's own score threshold) applied:
    the one place a model's defaults meet the declared ones."""
    overrides = overrides or {}
    return {p.name: overrides.get(p.name, p.default) for p in PARAMETERS}


_ThresholdFields = make_dataclass(
    "_ThresholdFields", [(p.attribute, p.kind, field(default=p.default)) for p in PARAMETERS], frozen=True
)


@dataclass(frozen=True)
class PredictParams(_ThresholdFields):
    """Thresholds for one prediction (see PARAMETERS); sizes are fractions of the image height / width."""

    classes: tuple[str | int, ...] | None = None  # names or ids to keep; None keeps all

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, Any] | None,
        *,
        strings_allowed: bool = False,
        defaults: Mapping[str, float | int] | None = None,
    ) -> PredictParams:
        """Build from a request's feature dict; a missing or null field takes its default, 0 stays 0.

        `strings_allowed` accepts numeric strings, as HTML forms send them; `defaults` (by request name)
        replaces declared defaults, e.g. a model's own score threshold.
        """
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise ParameterError(f"features must be an object, got {type(values).__name__}")
        chosen: dict[str, Any] = {}
        fallback = merged_defaults(defaults)
        for parameter in PARAMETERS:
            raw = values.get(parameter.name)
            if raw is None or (strings_allowed and raw == ""):
                chosen[parameter.attribute] = fallback[parameter.name]
                continue
            chosen[parameter.attribute] = _number(parameter, raw, strings_allowed)
        chosen["classes"] = _classes(values.get("classes"), strings_allowed)
        return cls(**chosen)


def _number(parameter: Parameter, raw: Any, strings_allowed: bool) -> float | int:
    """Validate one numeric field."""
    name, low, high = parameter.name, parameter.minimum, parameter.maximum
    if strings_allowed and isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise ParameterError(f"{name} must be a number, got {_shown(raw)}") from None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ParameterError(f"{name} must be a number, got {type(raw).__name__}")
    if isinstance(raw, float) and not math.isfinite(raw):  # ints may be too big for math.isnan; ranges catch them
        raise ParameterError(f"{name} must be a finite number, got {raw}")
    if parameter.kind is int:
        if raw != int(raw):
            raise ParameterError(f"{name} must be a whole number, got {raw}")
        raw = int(raw)
    if not low <= raw <= high:
        raise ParameterError(f"{name} must be between {low} and {high}, got {raw}")
    return raw if parameter.kind is int else float(raw)


def _classes(raw: Any, strings_allowed: bool) -> tuple[str | int, ...] | None:
    """A list of class names or ids (a comma-separated string from a form)."""
    if raw is None or (strings_allowed and raw == ""):  # an empty form field means "all", like other defaults
        return None
    limits = REQUEST_LIMITS
    if strings_allowed and isinstance(raw, str):
        if len(raw) > limits.classes_field:
            raise ParameterError(f"classes may be at most {limits.classes_field} characters, got {len(raw)}")
        raw = [part.strip() for part in raw.split(",") if part.strip()]
        # ASCII digits only: "²".isdigit() is True but int() refuses it, and "١" would silently be class 1.
        raw = [
            int(part) if part.isascii() and part.isdigit() and len(part) <= limits.class_name else part for part in raw
        ]
    if not isinstance(raw, list) or not raw:
        raise ParameterError("classes must be a non-empty list of class names or ids")
    if len(raw) > limits.classes:  # before any work per name: a long list must cost nothing
        raise ParameterError(f"classes may hold at most {limits.classes} names or ids, got {len(raw)}")
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ParameterError(f"classes must hold class names or ids, got {_shown(item)}")
        if isinstance(item, str) and len(item) > limits.class_name:
            raise ParameterError(f"a class name may be at most {limits.class_name} characters, got {len(item)}")
    return tuple(raw)


def _shown(value: Any) -> str:
    """A value for an error message, cut short (a request may send anything)."""
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "an object"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
