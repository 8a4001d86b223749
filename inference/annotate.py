"""Draw detections on an image the way the upload page does: one colour per class, label and score."""

from __future__ import annotations

import cv2
import numpy as np

from .detections import Detections

# Shared with the page (served in /api/model) so both draw a class in the same colour.
PALETTE = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#bfef45",
    "#fabed4",
    "#469990",
    "#dcbeff",
    "#9a6324",
    "#fffac8",
    "#800000",
    "#aaffc3",
    "#808000",
    "#ffd8b1",
    "#000075",
    "#a9a9a9",
    "#ffe119",
)


def class_color(class_id: int) -> tuple[int, int, int]:
    """RGB colour of a class."""
    hex_colour = PALETTE[class_id % len(PALETTE)]
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def draw_detections(pixels: np.ndarray, detections: Detections) -> np.ndarray:
    """A copy of the RGB image with boxes and labels drawn; boxes are scaled when the image is smaller than
    detections.image_size (a reduced copy of it)."""
    canvas = np.ascontiguousarray(pixels).copy()
    line = max(2, round(max(canvas.shape[:2]) / 300))
    font_scale = max(0.5, max(canvas.shape[:2]) / 1200)
    scale = np.array([canvas.shape[1] / detections.image_size[0], canvas.shape[0] / detections.image_size[1]] * 2)
    for (x1, y1, x2, y2), score, class_id in zip(
        (detections.xyxy * scale).round().astype(int), detections.confidence, detections.class_id
    ):
        colour = class_color(int(class_id))
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, line)
        label = f"{detections.class_names[class_id]} {score:.2f}"
        (text_w, text_h), baseline = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        top = max(0, y1 - text_h - baseline - 2)
        cv2.rectangle(canvas, (x1, top), (x1 + text_w + 4, top + text_h + baseline + 2), colour, cv2.FILLED)
        text_colour = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)  # readable on light and dark
        cv2.putText(
            canvas, label, (x1 + 2, top + text_h + 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, text_colour, 1, cv2.LINE_AA
        )
    return canvas


def encode_png(pixels: np.ndarray) -> bytes:
    """RGB array -> PNG bytes."""
    return encode_image(pixels, "png")


# Format name -> (OpenCV extension, encoder parameters, MIME type).
IMAGE_FORMATS = {
    "jpeg": (".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90], "image/jpeg"),
    "png": (".png", [], "image/png"),
}


def encode_image(pixels: np.ndarray, image_format: str) -> bytes:
    """RGB array -> bytes in one of IMAGE_FORMATS."""
    extension, parameters, _ = IMAGE_FORMATS[image_format]
    ok, encoded = cv2.imencode(extension, cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), parameters)
    if not ok:
        raise ValueError(f"{image_format} encoding failed")
    return encoded.tobytes()


def shrink_to(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """The image with its longest side at most max_side (area-averaged), or the same array when it fits."""
    height, width = pixels.shape[:2]
    ratio = max_side / max(height, width)
    if ratio >= 1:
        return pixels
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
