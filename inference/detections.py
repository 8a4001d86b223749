"""The one typed result of a prediction."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Detections:
    """Detections on one image.

    xyxy: float32 (n, 4) corner boxes in pixels of the upright original image, clipped to it.
    confidence: float32 (n,), best first.  class_id: int64 (n,), indices into class_names.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    class_names: tuple[str, ...]
    image_size: tuple[int, int]  # (width, height)
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4):
            raise ValueError(f"xyxy: expected shape (n, 4), got {self.xyxy.shape}")
        if self.confidence.shape != (n,):
            raise ValueError(f"confidence: expected shape ({n},), got {self.confidence.shape}")
        if self.class_id.shape != (n,):
            raise ValueError(f"class_id: expected shape ({n},), got {self.class_id.shape}")

    @classmethod
    def empty(cls, class_names: tuple[str, ...], image_size: tuple[int, int]) -> Detections:
        """No detections."""
        return cls(
            np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), class_names, image_size
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def labels(self) -> list[str]:
        """Class name of each detection."""
        return [self.class_names[i] for i in self.class_id]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: pixel and normalised 0..1 boxes, rounded to what is meaningful."""
        width, height = self.image_size
        scale = np.array([width, height, width, height], dtype=np.float32)
        normalised = (self.xyxy / scale).astype(np.float64).round(5).tolist()
        pixels = self.xyxy.astype(np.float64).round(1).tolist()
        return {
            "image": {"width": width, "height": height},
            "detections": [
                {
                    "class_id": class_id,
                    "class_name": self.class_names[class_id],
                    "score": round(score, 4),
                    "box": box,
                    "box_normalized": box_normalised,
                }
                for class_id, score, box, box_normalised in zip(
                    self.class_id.tolist(), self.confidence.tolist(), pixels, normalised
                )
            ],
        }
