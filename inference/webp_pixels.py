"""WebP pixels through OpenCV's libwebp: decoded straight into one array (3 or 4 bytes a pixel, about 8 at the peak
with libwebp's own buffers), where Pillow's animation decoder holds four full-size RGBA copies (16 bytes a pixel).
Only the first frame, as Pillow gives it; the EXIF orientation is left to the caller."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from .errors import CorruptImageError

# Peak bytes per pixel of the decode, the result included: measured 6 (lossy) and 8 (lossless, alpha) with 40 MP;
# an animation goes through libwebp's animation decoder and its two canvases: 12.
WEBP_PEAK_BYTES = 8
ANIMATED_WEBP_PEAK_BYTES = 12


class ArrayImage:
    """The part of a Pillow image's interface that the strip conversion uses, over an (h, w, 3|4) RGB(A) array."""

    def __init__(self, pixels: np.ndarray) -> None:
        self.pixels = pixels
        self.mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
        self.size = (pixels.shape[1], pixels.shape[0])
        self.info: dict = {}

    def crop(self, box: tuple[int, int, int, int]) -> Image.Image:
        left, top, right, bottom = box
        return Image.fromarray(self.pixels[top:bottom, left:right], self.mode)

    def reduce(self, factor: int, box: tuple[int, int, int, int]) -> Image.Image:
        return self.crop(box).reduce(factor)


def webp_pixels(data: bytes) -> ArrayImage:
    """The first frame's pixels, RGB or RGBA as the file has alpha, in the stored orientation."""
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if pixels is None or pixels.ndim != 3 or pixels.dtype != np.uint8:
        raise CorruptImageError("the image data is damaged or truncated (libwebp could not decode it)")
    swap = cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB
    cv2.cvtColor(pixels, swap, dst=pixels)  # in place: no second full-size copy
    return ArrayImage(pixels)
