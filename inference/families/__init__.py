"""Detector families: how each wants its input and how its raw outputs become boxes and scores.

Every decoder has the same contract: (outputs, output_names, input_hw) -> (boxes, class_scores), with
`boxes` float32 (n, 4) xyxy in model-input pixels and `class_scores` float32 (n, num_classes). A family
whose outputs do not show the class count (DETR's labels) also takes `num_classes`: the given names' count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..errors import ModelError
from ..preprocess import Preprocessing
from .centernet import centernet_heads, decode_centernet
from .detr import decode_detr, detr_layout
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
    takes_class_count: bool = False  # decode(..., num_classes=) sizes its class columns from the names given

    def decoder(self, num_classes: int | None) -> Decoder:
        """The decode function, told the number of class names given (None: none given) if it needs that."""
        return partial(self.decode, num_classes=num_classes) if self.takes_class_count else self.decode


_ULTRALYTICS_INPUT = Preprocessing(
    resize="letterbox", anchor="center", pad_value=114, channel_order="rgb", scale=1 / 255
)

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(
            "yolox",
            "YOLOX: [1, N, 5 + C], grid-relative boxes, objectness",
            # Measured on real photos: BGR, top-left letterbox, pad 114, raw 0..255 values; the size truncated
            # as YOLOX's preproc does (int(), not round(): +0.4 AP on coco-dev, MODEL_CARD.md).
            Preprocessing(resize="letterbox", anchor="top-left", pad_value=114, channel_order="bgr", rounding="floor"),
            decode_yolox,
        ),
        Family(
            "yolov5", "Ultralytics YOLOv5: [1, N, 5 + C], pixel boxes, objectness", _ULTRALYTICS_INPUT, decode_yolov5
        ),
        Family("yolov8", "Ultralytics YOLOv8 / YOLO11: [1, 4 + C, N], pixel boxes", _ULTRALYTICS_INPUT, decode_yolov8),
        Family(
            "nanodet",
            "NanoDet (GFL head): per stride, scores [1, N, C] and side distributions [1, N, 4 x bins]",
            # Measured on the labelled photos: BGR, centred letterbox padded with 0, ImageNet mean/std in 0..255.
            Preprocessing(
                resize="letterbox",
                anchor="center",
                pad_value=0,
                channel_order="bgr",
                mean=(103.53, 116.28, 123.675),
                std=(57.375, 57.12, 58.395),
            ),
            decode_nanodet,
        ),
        Family(
            "centernet",
            "CenterNet: heatmap [1, H, W, C] and side distances [1, H, W, 4]",
            # Measured on the labelled photos: RGB, top-left letterbox, pad 114, raw 0..255 (the graph normalises).
            Preprocessing(resize="letterbox", anchor="top-left", pad_value=114, channel_order="rgb", layout="nhwc"),
            decode_centernet,
        ),
        Family(
            "detr",
            "DETR-style (RT-DETR, D-FINE, DEIM): labels [1, K], boxes [1, K, 4] xyxy, scores [1, K], "
            "or logits [1, K, C] and pred_boxes [1, K, 4] cxcywh 0..1",
            # Measured on coco-dev (MODEL_CARD.md): RGB, 0..1, stretched; letterboxing costs DEIMv2-Femto AP.
            Preprocessing(resize="stretch", channel_order="rgb", scale=1 / 255),
            decode_detr,
            takes_class_count=True,
        ),
    )
}


def detect_family(
    output_shapes: Sequence[tuple[int, ...]],
    metadata: Mapping[str, str],
    input_hw: tuple[int, int],
    output_names: Sequence[str] = (),
) -> str:
    """Name the family from the outputs a real run produced, their names and the model's metadata."""
    shapes = [tuple(shape) for shape in output_shapes]
    if detr_layout(shapes, list(output_names) or [""] * len(shapes)) is not None:
        return "detr"  # a [1, K, 4] box output beside [1, K] or [1, K, C]: no grid family has that
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
