"""A faster JPEG decode (simplejpeg, libjpeg-turbo straight into an RGB array) for the common case.

Pillow decodes a JPEG into its own RGBX storage and then copies it into an RGB array; simplejpeg writes RGB at
once: 0.83 against 1.38 ms for the 640x480 benchmark photo (BENCHMARKS.md). Pillow still opens the file, checks the
limits, reads the EXIF orientation and chooses the draft scale (image_decoding.py): this module decodes the pixels
only, at exactly the size Pillow's draft chose, with the same DCT and upsampling (libjpeg's defaults: accurate
integer DCT, fancy upsampling), into one array of 3 bytes a pixel (Pillow holds 4, then converts). The output equals
Pillow's within DECODE_TOLERANCE grey levels per channel: bit for bit on every test photo (tests/test_jpeg_fast.py).

Anything else (a turned photo, CMYK, damaged data, a size that differs from the draft's) answers None and
Pillow decodes it as before, with its own errors. An MPO's first frame is the JPEG at the start of the file: the
same frame Pillow decodes.
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


def decode_rgb(data: bytes, size: tuple[int, int], mode: str, orientation: int) -> np.ndarray | None:
    """(h, w, 3) uint8 RGB of a JPEG whose Pillow image, after its draft, has `size` (width, height) and `mode`, and
    whose EXIF `orientation` is 1 (stored upright); None when this path does not apply (the caller decodes with
    Pillow).

    A turned photo is left to Pillow: turning a whole array needs a second copy of it, and the memory a decode may
    hold is counted as Pillow's one image (inference/decode_cost.py), whose turn is done a strip at a time.
    """
    if simplejpeg is None or mode not in _MODES or orientation != 1:
        return None
    width, height = size
    try:
        pixels = simplejpeg.decode_jpeg(data, colorspace="RGB", min_width=width, min_height=height)
    except ValueError:  # damaged, truncated, or a colour space it does not convert: Pillow says which
        return None
    if pixels.shape != (height, width, 3):  # a scale Pillow's draft would not choose
        return None
    return pixels
