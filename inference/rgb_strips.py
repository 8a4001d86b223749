"""A loaded Pillow image of any mode -> upright (h, w, 3) uint8 RGB, reduced by a whole factor, a strip of rows at
a time: besides the image in its own mode, only one strip's copies and the result are ever in memory (converting
the whole image at once holds several full-size RGBA copies: a palette image with transparency went P -> RGBA ->
composite -> RGB -> array)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image

from .webp_pixels import ArrayImage

# Rows of the stored image converted at once: about this many bytes of RGBA.
STRIP_BYTES = 4 << 20
# Modes whose box-filter reduce is meaningful in the mode itself: reduced first, then converted (fewer pixels to
# convert, and the same pixels as reducing the whole image). Palette indices and bits cannot be averaged, and
# Pillow does not reduce 16-bit: those are converted first.
_REDUCED_NATIVELY = {"L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "I", "F"}
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N"}
_WITH_ALPHA = {"RGBA", "LA", "PA", "RGBa", "La"}

# EXIF orientation -> the transpose that turns the stored image upright, as ImageOps.exif_transpose does.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
TRANSPOSING_ORIENTATIONS = {5, 6, 7, 8}


def upright_rgb(image: Image.Image | ArrayImage, factor: int = 1, orientation: int = 1) -> np.ndarray:
    """The loaded `image` (or WebP pixels) turned upright by its EXIF `orientation`, as RGB, its stored size
    divided by `factor` (rounded up, box filter as Image.reduce)."""
    # Strips even when there is nothing to convert: np.asarray of a whole image goes through Pillow's tobytes, whose
    # chunks fragment the heap (a worker's next 40 MP decode then peaked 70 MiB higher).
    method = _UPRIGHT.get(orientation)
    width, height = image.size
    out_w, out_h = math.ceil(width / factor), math.ceil(height / factor)
    transposing = orientation in TRANSPOSING_ORIENTATIONS
    upright = np.empty((out_w, out_h, 3) if transposing else (out_h, out_w, 3), np.uint8)
    convert = _strip_converter(image)
    rows = max(1, STRIP_BYTES // (width * 4 * factor)) * factor
    for top in range(0, height, rows):
        box = (0, top, width, min(height, top + rows))
        if factor > 1 and image.mode in _REDUCED_NATIVELY:
            # Reduced straight from the image, but LA and RGBA are first premultiplied: that copy is a strip's.
            native = image.crop(box).reduce(factor) if image.mode in _WITH_ALPHA else image.reduce(factor, box)
            rgb = convert(native)
        else:
            rgb = convert(image.crop(box))
            rgb = rgb.reduce(factor) if factor > 1 else rgb
        first = top // factor
        upright[_upright_region(orientation, first, first + rgb.height, upright.shape)] = np.asarray(
            rgb.transpose(method) if method is not None else rgb
        )
    return upright


def _upright_region(orientation: int, first: int, end: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Where stored rows first..end land in the upright array: rows, reversed rows, columns or reversed columns."""
    height, width = shape[:2]
    if orientation in (3, 4):
        return slice(height - end, height - first), slice(None)
    if orientation in (5, 8):
        return slice(None), slice(first, end)
    if orientation in (6, 7):
        return slice(None), slice(width - end, width - first)
    return slice(first, end), slice(None)


def _strip_converter(image: Image.Image) -> Callable[[Image.Image], Image.Image]:
    """A function taking a strip of `image` (or of its reduced copy) to RGB; what depends on the whole image (the
    value range of 32-bit or float pixels) is decided here, once."""
    mode = image.mode
    if mode in _SIXTEEN_BIT:
        return lambda strip: _grey(np.asarray(strip) >> 8)
    if mode == "I":
        # Plain "I" declares no depth: 8-bit values when they fit, else 16-bit; clipped so nothing wraps around.
        shift = 8 if image.getextrema()[1] > 255 else 0
        return lambda strip: _grey(np.clip(np.asarray(strip).astype(np.int64) >> shift, 0, 255))
    if mode == "F":
        # A guess: floats are 0..1 (scientific TIFFs) or 0..255; a 0..255 image this dark is taken for 0..1.
        scale = 255.0 if _float_max(image) <= 1.0 else 1.0
        return lambda strip: _grey(np.clip(np.nan_to_num(np.asarray(strip, np.float32) * scale), 0, 255))
    if mode == "P":
        colours = _palette_on_white(image).tobytes()
        return lambda strip: _repainted(strip, colours)
    if mode in _WITH_ALPHA:
        return _on_white
    return lambda strip: strip if strip.mode == "RGB" else strip.convert("RGB")


def _grey(values: np.ndarray) -> Image.Image:
    grey = values.astype(np.uint8)
    return Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2), "RGB")


def _on_white(strip: Image.Image) -> Image.Image:
    """Transparent pixels carry arbitrary colours; show them as white, as a viewer would."""
    rgba = strip.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _palette_on_white(image: Image.Image) -> np.ndarray:
    """The RGB colour of each of the 256 palette indices, transparent ones composited on white: a lookup table
    that converts a strip in one step (and every pixel exactly as converting the whole image would)."""
    indices = image.crop((0, 0, 1, 1)).resize((256, 1))  # the palette and transparency of `image`
    indices.putdata(range(256))
    return np.asarray(_on_white(indices))[0]


def _repainted(strip: Image.Image, colours: bytes) -> Image.Image:
    """A palette strip in RGB, through an opaque palette of `colours`."""
    strip.info.pop("transparency", None)
    strip.putpalette(colours, "RGB")
    return strip.convert("RGB")


def _float_max(image: Image.Image) -> float:
    width, height = image.size
    rows = max(1, STRIP_BYTES // (width * 4))
    found = [
        np.nanmax(np.asarray(image.crop((0, top, width, min(height, top + rows)))), initial=0.0)
        for top in range(0, height, rows)
    ]
    return float(max(found, default=0.0))
