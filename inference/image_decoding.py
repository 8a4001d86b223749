"""Image bytes -> upright 8-bit RGB array, with size limits checked before any pixel is decoded."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import (
    CorruptImageError,
    EmptyImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    UnsupportedImageError,
)

# JPEG includes MPO (phone cameras): Pillow's JPEG plugin opens those itself.
SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 12_000

# What Pillow raises, depending on the format, for damaged or truncated data.
_DAMAGED_DATA_ERRORS = (OSError, ValueError, SyntaxError, EOFError)
# EXIF orientations 5..8 swap width and height.
_TRANSPOSING_ORIENTATIONS = {5, 6, 7, 8}


@dataclass(frozen=True)
class DecodedImage:
    """Upright RGB pixels, plus the upright size of the full-resolution image.

    `pixels` may be smaller than `original_size` when a reduced-size JPEG decode was asked for;
    boxes are always reported in `original_size` pixels.
    """

    pixels: np.ndarray  # (h, w, 3) uint8, RGB
    original_size: tuple[int, int]  # (width, height) upright

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of `pixels`."""
        return self.pixels.shape[1], self.pixels.shape[0]


def decode_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    min_side: int = 1,
    draft_size: tuple[int, int] | None = None,
) -> DecodedImage:
    """Decode JPEG/PNG/WebP/BMP/GIF (first frame)/TIFF bytes into upright RGB.

    `draft_size` (width, height) lets JPEG decoding skip detail the model cannot use: the result
    is at least that large, or full size.
    """
    if not data:
        raise EmptyImageError("the image is empty (0 bytes)")
    image = _open(data, max_pixels, max_side, min_side)
    try:
        # PNG looks for EXIF after the pixel data, so this reads (and may trip over) the whole file.
        orientation = image.getexif().get(0x0112, 1)
    except _DAMAGED_DATA_ERRORS as exc:
        raise CorruptImageError(f"the image data is damaged or truncated ({exc})") from None
    full_w, full_h = image.size
    if orientation in _TRANSPOSING_ORIENTATIONS:
        full_w, full_h = full_h, full_w
    if draft_size is not None and image.format in ("JPEG", "MPO"):
        # Draft sizes are in stored (pre-rotation) orientation.
        want = draft_size if orientation not in _TRANSPOSING_ORIENTATIONS else draft_size[::-1]
        image.draft("RGB", want)
    try:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # upright image; no copy when already upright
        pixels = _to_rgb_array(image)
    except _DAMAGED_DATA_ERRORS as exc:
        raise CorruptImageError(f"the image data is damaged or truncated ({exc})") from None
    return DecodedImage(pixels=pixels, original_size=(full_w, full_h))


def _open(data: bytes, max_pixels: int, max_side: int, min_side: int) -> Image.Image:
    """Read the header only and enforce the limits before decoding pixels."""
    try:
        with warnings.catch_warnings():
            # Our own limits below are the guard; Pillow's global one would only warn or differ.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"the image is too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        raise UnsupportedImageError(
            f"the data is not an image in a supported format ({', '.join(SUPPORTED_FORMATS)})"
        ) from None
    except _DAMAGED_DATA_ERRORS as exc:
        raise CorruptImageError(f"the image header is damaged ({exc})") from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"the image has {width}x{height} = {width * height} pixels; the limit is {max_pixels}"
        )
    if max(width, height) > max_side:
        raise ImageTooLargeError(f"the image is {width}x{height}; the longest side allowed is {max_side}")
    if min(width, height) < min_side:
        raise ImageTooSmallError(f"the image is {width}x{height}; the shortest side must be at least {min_side}")
    return image


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Any Pillow mode -> (h, w, 3) uint8 RGB."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: Pillow's convert("L") would clip at 255, so scale instead. Plain "I" declares
        # no depth: 8-bit values when they fit, else 16-bit; clip so nothing wraps around.
        grey = np.asarray(image).astype(np.int64)
        if image.mode != "I" or grey.max(initial=0) > 255:
            grey >>= 8
        return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    if image.mode == "F":
        grey = np.asarray(image, dtype=np.float32)
        if np.nanmax(grey, initial=0.0) <= 1.0:
            # A guess: floats are 0..1 (scientific TIFFs) or 0..255; a 0..255 image this dark is taken for 0..1.
            grey = grey * 255
        grey = np.clip(np.nan_to_num(grey), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent pixels carry arbitrary colours; show them as white, as a viewer would.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)
