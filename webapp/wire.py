"""The JSON wire format, in one place: result slots, error slots, model descriptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from inference import Detections, ModelInfo
from inference.params import PARAMETERS

from .errors import ApiError


def detections_slot(detections: Detections, image_sha256: str, model: str) -> dict[str, Any]:
    """A successful slot of `model`: pixel and normalised 0..1 boxes, rounded to what is meaningful."""
    width, height = detections.image_size
    scale = np.array([width, height, width, height], dtype=np.float32)
    normalised = (detections.xyxy / scale).astype(np.float64).round(5).tolist()
    pixels = detections.xyxy.astype(np.float64).round(1).tolist()
    names = detections.class_names
    return {
        "image": {"width": width, "height": height, "sha256": image_sha256},
        "detections": [
            {
                "class_id": class_id,
                "class_name": names[class_id],
                "score": round(score, 4),
                "box": box,
                "box_normalized": box_normalised,
            }
            for class_id, score, box, box_normalised in zip(
                detections.class_id.tolist(), detections.confidence.tolist(), pixels, normalised
            )
        ],
        "timings_ms": detections.timings_ms,
        "model": model,
    }


def error_slot(error: ApiError) -> dict[str, Any]:
    """A failed slot."""
    return {"error": error.to_dict()}


def parameters_description(defaults: Mapping[str, float]) -> list[dict[str, Any]]:
    """The parameters' declaration, with a model's defaults (params.merged_defaults)."""
    return [{**p.to_dict(), "default": defaults[p.name]} for p in PARAMETERS]


def model_description(info: ModelInfo, defaults: dict[str, float], extra: dict[str, Any]) -> dict[str, Any]:
    """What /api/model and /api/models say of one model: never a local path or a URL (they may hold secrets)."""
    return {
        "name": info.name,
        "family": info.family,
        "family_description": info.family_description,
        "input_size": {"width": info.input_size[0], "height": info.input_size[1]},
        "input_layout": info.input_layout,
        "num_classes": len(info.class_names),
        "class_names": list(info.class_names),
        "licence": info.licence,
        "sha256": info.sha256,
        "providers": list(info.providers),
        "default_params": defaults,
        "parameters": parameters_description(defaults),
        **extra,
    }
