"""Image -> model input tensor (per-family recipe), and model-input boxes -> image boxes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np


@dataclass(frozen=True)
class Preprocessing:
    """How a model family wants its input prepared."""

    resize: Literal["letterbox", "stretch"] = "letterbox"
    anchor: Literal["top-left", "center"] = "top-left"  # where a letterboxed image sits
    rounding: Literal["round", "floor"] = "round"  # the letterboxed size, as the family's training code did
    pad_value: int = 114
    channel_order: Literal["rgb", "bgr"] = "rgb"
    scale: float = 1.0  # pixel values are multiplied by this first (e.g. 1/255)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # subtracted after scaling, model channel order
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    layout: Literal["nchw", "nhwc"] = "nchw"


@dataclass(frozen=True)
class BoxTransform:
    """Maps xyxy boxes from model-input pixels back to original image pixels."""

    pad_x: float
    pad_y: float
    scale_x: float  # original pixels per model-input pixel
    scale_y: float
    image_width: int
    image_height: int

    def to_image(self, boxes: np.ndarray) -> np.ndarray:
        """(n, 4) xyxy in model-input pixels -> (n, 4) float32 xyxy in image pixels, clipped."""
        out = np.empty_like(boxes, dtype=np.float32)
        out[:, 0::2] = (boxes[:, 0::2] - self.pad_x) * self.scale_x
        out[:, 1::2] = (boxes[:, 1::2] - self.pad_y) * self.scale_y
        np.clip(out[:, 0::2], 0, self.image_width, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, self.image_height, out=out[:, 1::2])
        return out


def letterbox(
    pixels: np.ndarray, input_hw: tuple[int, int], anchor: str, pad_value: int, rounding: str = "round"
) -> tuple[np.ndarray, float, float, float, float]:
    """Resize keeping aspect ratio and pad to input_hw; returns (image, ratio_x, ratio_y, pad_x, pad_y)."""
    in_h, in_w = input_hw
    h, w = pixels.shape[:2]
    ratio = min(in_h / h, in_w / w)
    to_int = int if rounding == "floor" else round  # YOLOX's preproc truncates, Ultralytics' rounds
    new_w, new_h = max(1, to_int(w * ratio)), max(1, to_int(h * ratio))
    resized = _resize(pixels, new_w, new_h)
    left, top = ((in_w - new_w) // 2, (in_h - new_h) // 2) if anchor == "center" else (0, 0)
    canvas = np.full((in_h, in_w, 3), pad_value, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas, new_w / w, new_h / h, float(left), float(top)


def prepare_input(
    pixels: np.ndarray,
    input_hw: tuple[int, int],
    recipe: Preprocessing,
    original_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, BoxTransform]:
    """RGB uint8 (h, w, 3) -> float32 batch of one, and the transform back to original pixels."""
    h, w = pixels.shape[:2]
    orig_w, orig_h = original_size or (w, h)
    if recipe.resize == "letterbox":
        canvas, ratio_x, ratio_y, pad_x, pad_y = letterbox(
            pixels, input_hw, recipe.anchor, recipe.pad_value, recipe.rounding
        )
    else:
        canvas = _resize(pixels, input_hw[1], input_hw[0])
        ratio_x, ratio_y, pad_x, pad_y = input_hw[1] / w, input_hw[0] / h, 0.0, 0.0
    batch = _to_float_batch(canvas, recipe)
    transform = BoxTransform(
        pad_x=pad_x,
        pad_y=pad_y,
        scale_x=orig_w / (w * ratio_x),
        scale_y=orig_h / (h * ratio_y),
        image_width=orig_w,
        image_height=orig_h,
    )
    return batch, transform


def _to_float_batch(canvas: np.ndarray, recipe: Preprocessing) -> np.ndarray:
    """uint8 (h, w, 3) RGB -> contiguous float32 (1, 3, h, w) or (1, h, w, 3), normalised.

    Channels are reordered and transposed while converting, in one pass per plane: converting a
    reversed or transposed view with astype costs ~6x more (measured in BENCHMARKS.md).
    """
    order = (2, 1, 0) if recipe.channel_order == "bgr" else (0, 1, 2)
    height, width = canvas.shape[:2]
    if recipe.layout == "nchw":
        batch = np.empty((1, 3, height, width), np.float32)
        planes = cv2.split(np.ascontiguousarray(canvas))
        for channel, source in enumerate(order):
            batch[0, channel] = planes[source]
        channel_axis: tuple[int, ...] = (3, 1, 1)
    else:
        batch = np.empty((1, height, width, 3), np.float32)
        batch[0] = canvas[:, :, list(order)] if recipe.channel_order == "bgr" else canvas
        channel_axis = (3,)
    if recipe.scale != 1.0:
        batch *= recipe.scale
    if any(recipe.mean) or any(s != 1.0 for s in recipe.std):
        batch -= np.asarray(recipe.mean, dtype=np.float32).reshape(channel_axis)
        batch /= np.asarray(recipe.std, dtype=np.float32).reshape(channel_axis)
    return batch


def limit_resize_threads(threads: int) -> None:
    """Cap OpenCV's thread pool, process-wide (0 keeps OpenCV's default of every core).

    A server worker owns `threads` cores' worth of work; OpenCV's pool would keep threads spinning on every core
    between resizes, which at saturation costs ~0.3 ms CPU per image at 640x480 for a 0.2 ms gain at c=1.
    """
    if threads > 0:
        cv2.setNumThreads(threads)


def _resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize, as the detector families' own training pipelines do."""
    if (width, height) == (pixels.shape[1], pixels.shape[0]):
        return pixels
    return cv2.resize(pixels, (width, height), interpolation=cv2.INTER_LINEAR)
