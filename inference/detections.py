"""The one typed result of a prediction."""

from __future__ import annotations

from dataclasses import dataclass, field

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
