"""Ultralytics exports: YOLOv5 [1, N, 5 + C] with objectness, YOLOv8/YOLO11 [1, 4 + C, N] without."""

import numpy as np

from .grids import cxcywh_to_xyxy


def decode_yolov5(
    outputs: list[np.ndarray], output_names: list[str], input_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (cx, cy, w, h in input pixels, objectness, class probs...) -> xyxy boxes and class scores."""
    rows = outputs[0][0]
    return cxcywh_to_xyxy(rows[:, 0:4]), rows[:, 5:] * rows[:, 4:5]


def decode_yolov8(
    outputs: list[np.ndarray], output_names: list[str], input_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Columns (cx, cy, w, h in input pixels, class probs...) -> xyxy boxes and class scores."""
    rows = outputs[0][0].T  # [4 + C, N] -> [N, 4 + C]
    return cxcywh_to_xyxy(rows[:, 0:4]), rows[:, 4:]
