"""Detector families: how each wants its input and how its raw outputs become boxes and scores.

Every decoder has the same contract: (outputs, output_names, input_hw) -> (boxes, class_scores), with
`boxes` float32 (n, 4) xyxy in model-input pixels and `class_scores` float32 (n, num_classes).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from ..preprocess import Preprocessing
from .centernet import centernet_heads, decode_centernet
from .grids import grid_cell_count
from .nanodet import decode_nanodet, fits_nanodet
from .ultralytics import decode_yolov5, decode_yolov8
from .yolox import decode_yolox

Decoder = Callable[[list[np.ndarray], list[str], tuple[int, int]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Family:
    """A detector family: its pre-processing recipe and its output decoder."""

    name: str
    description: str
    preprocessing: Preprocessing
    decode: Decoder


_ULTRALYTICS_INPUT = Preprocessing(resize="letterbox", anchor="center", pad_value=114, channel_order="rgb", scale=1 / 255)

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(
            "yolox",
            "YOLOX: [1, N, 5 + C], grid-relative boxes, objectness",
            # Measured on real photos: BGR, top-left letterbox, pad 114, raw 0..255 values.
            Preprocessing(resize="letterbox", anchor="top-left", pad_value=114, channel_order="bgr"),
            decode_yolox,
        ),
        Family("yolov5", "Ultralytics YOLOv5: [1, N, 5 + C], pixel boxes, objectness", _ULTRALYTICS_INPUT, decode_yolov5),
        Family("yolov8", "Ultralytics YOLOv8 / YOLO11: [1, 4 + C, N], pixel boxes", _ULTRALYTICS_INPUT, decode_yolov8),
        Family(
            "nanodet",
            "NanoDet (GFL head): per stride, scores [1, N, C] and side distributions [1, N, 4 x bins]",
            # Measured on the labelled photos: BGR, centred letterbox padded with 0, ImageNet mean/std in 0..255.
            Preprocessing(resize="letterbox", anchor="center", pad_value=0, channel_order="bgr",
                          mean=(103.53, 116.28, 123.675), std=(57.375, 57.12, 58.395)),
            decode_nanodet,
        ),
        Family(
            "centernet",
            "CenterNet: heatmap [1, H, W, C] and side distances [1, H, W, 4]",
            # Measured on the labelled photos: RGB, top-left letterbox, pad 114, raw 0..255 (the graph normalises).
            Preprocessing(resize="letterbox", anchor="top-left", pad_value=114, channel_order="rgb", layout="nhwc"),
            decode_centernet,
        ),
    )
}


def detect_family(
    output_shapes: Sequence[tuple[int, ...]], metadata: Mapping[str, str], input_hw: tuple[int, int]
) -> str:
    """Name the family from the outputs a real run produced and the model's metadata."""
    shapes = [tuple(shape) for shape in output_shapes]
    if len(shapes) == 1 and len(shapes[0]) == 3 and shapes[0][0] == 1:
        _, rows, cols = shapes[0]
        cells = grid_cell_count(input_hw)
        if _is_ultralytics(metadata):
            # YOLOv8 has one column per cell; at small inputs rows can equal cols, so ask the grid first.
            return "yolov8" if cols == cells or (rows != 3 * cells and rows < cols) else "yolov5"
        if rows == cells and cols > 5:
            return "yolox"
        if rows == 3 * cells and cols > 5:  # three anchors per cell
            return "yolov5"
        if cols == cells and rows > 4:
            return "yolov8"
    if fits_nanodet(shapes, input_hw):
        return "nanodet"
    if centernet_heads(shapes) is not None:
        return "centernet"
    raise ModelError(
        f"the model's outputs {shapes} (input {input_hw[0]}x{input_hw[1]}) fit no supported family "
        f"({', '.join(FAMILIES)}); name the family in the configuration if it is one of them"
    )


def _is_ultralytics(metadata: Mapping[str, str]) -> bool:
    """Ultralytics exports write author/task/names into the ONNX metadata."""
    return "ultralytics" in metadata.get("author", "").lower() or ("names" in metadata and "stride" in metadata)
