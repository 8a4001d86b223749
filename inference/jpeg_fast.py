"""A faster JPEG decode (simplejpeg, libjpeg-turbo straight into an RGB array) for the common case.

Pillow decodes a JPEG into its own RGBX storage and then copies it into an RGB array; simplejpeg writes RGB at
once: 0.83 against 1.38 ms for the 640x480 benchmark photo (BENCHMARKS.md). Pillow still opens the file, checks the
limits, reads the EXIF orientation and chooses the draft scale (image_decoding.py): this module decodes the pixels
only, at exactly the size Pillow's draft chose, with the same DCT and upsampling (libjpeg's defaults: accurate
integer DCT, fancy upsampling), and turns them upright as ImageOps.exif_transpose would. The output equals
Pillow's within DECODE_TOLERANCE grey levels per channel: bit for bit on every test photo (tests/test_jpeg_fast.py).

Anything else (CMYK, MPO's other frames, damaged data, a size that differs from the draft's) answers None and
Pillow decodes it as before, with its own errors.
"""

from __future__ import annotations

import numpy as np

try:
    import simplejpeg
except ImportError:  # an optional speed-up: without it every JPEG takes Pillow's path
    simplejpeg = None

# Largest difference per channel against Pillow's decode of the same file at the same scale: none, measured on every
# test photo at four scales (the pinned wheels bundle libjpeg-turbo builds that decode alike).
DECODE_TOLERANCE = 0
# Pillow image modes after draft("RGB") that libjpeg-turbo turns into RGB as Pillow's conversion does.
_MODES = ("RGB", "L")


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Stored pixels -> upright, for an EXIF orientation 1..8 (views; ImageOps.exif_transpose's transposes)."""
    turned = {
        2: lambda a: a[:, ::-1],  # mirrored
        3: lambda a: a[::-1, ::-1],  # 180
        4: lambda a: a[::-1],  # mirrored vertically
        5: lambda a: a.transpose(1, 0, 2),  # transpose
        6: lambda a: np.rot90(a, -1),  # stored turned 90 anticlockwise
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # transverse
        8: lambda a: np.rot90(a, 1),  # stored turned 90 clockwise
    }.get(orientation)
    return np.ascontiguousarray(turned(pixels)) if turned is not None else pixels


def decode_upright(data: bytes, size: tuple[int, int], mode: str, orientation: int) -> np.ndarray | None:
    """Upright (h, w, 3) uint8 RGB of a JPEG whose Pillow image, after its draft, has `size` (stored, width x height)
    and `mode`; None when this path does not apply (the caller decodes with Pillow)."""
    if simplejpeg is None or mode not in _MODES:
        return None
    width, height = size
    try:
        pixels = simplejpeg.decode_jpeg(data, colorspace="RGB", min_width=width, min_height=height)
    except ValueError:  # damaged, truncated, or a colour space it does not convert: Pillow says which
        return None
    if pixels.shape != (height, width, 3):  # a scale Pillow's draft would not choose
        return None
    return upright(pixels, orientation)
