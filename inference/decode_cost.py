"""The memory a decode holds at full size, by format and colour mode, measured with tens of megapixels
(tests/test_resource_bounds.py measures every case in a fresh process). What the pixels become afterwards (the
RGB strips, the reduced copy) is converted a strip at a time and is not counted here, nor are buffers no larger
than a strip."""

from __future__ import annotations

from PIL import Image

from .jpeg_layout import JpegLayout
from .rgb_strips import STRIP_BYTES
from .webp_pixels import ANIMATED_WEBP_PEAK_BYTES, WEBP_PEAK_BYTES

# What `MAX_IMAGE_PIXELS` counts: an 8-bit RGB pixel, as Pillow holds it (one 32-bit word).
RGB_PIXEL_BYTES = 4

# Bytes per pixel of Pillow's storage of a mode: 8-bit single-band modes take a byte, 16-bit ones two, the rest
# (RGB included) a 32-bit word.
_STORAGE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_WORD = 4

# Pillow expands a run-length BMP in Python into a bytearray, then a bytes copy of it, before the raw decode.
_BMP_RLE_BYTES = 2


def storage_bytes(mode: str) -> int:
    """Bytes per pixel of a Pillow image of `mode`."""
    return _STORAGE_BYTES.get(mode, _WORD)


def full_size_bytes(image: Image.Image, jpeg: JpegLayout | None = None) -> int:
    """Peak bytes held at full size while `image` (opened, not loaded; a JPEG after its draft) is decoded."""
    width, height = image.size
    if image.format == "WEBP":  # decoded by OpenCV, not into a Pillow image
        return width * height * (ANIMATED_WEBP_PEAK_BYTES if getattr(image, "is_animated", False) else WEBP_PEAK_BYTES)
    held = width * height * storage_bytes(image.mode)
    if jpeg is not None:
        held += jpeg.coefficient_bytes
    elif image.format == "TIFF" and _codecs(image) & {"libtiff"}:
        strip = _tiff_strip_bytes(image)
        held += strip if strip > STRIP_BYTES else 0  # no more than one of our own strips: not counted either
    elif image.format == "BMP" and _codecs(image) & {"bmp_rle"}:
        held += width * height * _BMP_RLE_BYTES
    return held


def _codecs(image: Image.Image) -> set[str]:
    return {tile[0] for tile in image.tile}


def _tiff_strip_bytes(image: Image.Image) -> int:
    """libtiff (compressed TIFFs) decodes a strip or tile at a time into a buffer of the file's own depth (a whole
    image when the file is one strip); uncompressed ones are read straight into the image."""
    tags = image.tag_v2
    width, height = image.size
    try:
        samples = int(tags.get(277, 1))
        bits = tags.get(258, (8,))
        bits = tuple(int(b) for b in bits) if isinstance(bits, tuple) else (int(bits),)
        pixel_bits = sum(bits) if len(bits) == samples else bits[0] * samples
        if 322 in tags and 323 in tags:
            area = int(tags[322]) * int(tags[323])
        else:
            area = width * min(height, int(tags.get(278, height)) or height)
    except (TypeError, ValueError, IndexError, OverflowError):  # damaged tags: assume a whole-image strip
        area, pixel_bits = width * height, 64
    return area * pixel_bits // 8
