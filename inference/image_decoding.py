"""Image bytes -> upright 8-bit RGB array, with size limits checked before any pixel is decoded."""

from __future__ import annotations

import io
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from .decode_cost import RGB_PIXEL_BYTES, full_size_bytes
from .errors import (
    CorruptImageError,
    EmptyImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    UnsupportedImageError,
)
from .jpeg_fast import decode_rgb
from .jpeg_layout import JpegLayout, jpeg_layout
from .rgb_strips import TRANSPOSING_ORIENTATIONS, upright_rgb
from .webp_pixels import webp_pixels

# JPEG includes MPO (phone cameras): Pillow's JPEG plugin opens those itself.
SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 12_000

# A progressive JPEG is decoded scan by scan, each pass over every block: thousands of tiny scans in a small file
# take minutes (a "scan bomb"). Encoders write about 10.
MAX_JPEG_SCANS = 100
# What Pillow says when a PNG's text or colour-profile chunks decompress to more than it keeps.
_METADATA_LIMITS = ("MAX_TEXT_CHUNK", "MAX_TEXT_MEMORY")
# Pillow keeps up to 64 MB of a PNG's (compressed) text, on top of the pixels: a 0.2 MB file held 60 MB of text and
# a 40 MP image. Real files carry kilobytes (XMP is the largest); this process keeps at most this much.
PNG_TEXT_BYTES = 4 << 20
PngImagePlugin.MAX_TEXT_MEMORY = PNG_TEXT_BYTES

# What Pillow raises, depending on the format, for damaged or truncated data.
_DAMAGED_DATA_ERRORS = (OSError, ValueError, SyntaxError, EOFError)


@dataclass(frozen=True)
class DecodedImage:
    """Upright RGB pixels, plus the upright size of the full-resolution image.

    `pixels` may be smaller than `original_size` when a target size was given (a reduced decode);
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
    target_size: tuple[int, int] | None = None,
    keep_aspect: bool = True,
) -> DecodedImage:
    """Decode JPEG/PNG/WebP/BMP/GIF (first frame)/TIFF bytes into upright RGB.

    `target_size` (width, height) is the model input the pixels will be resized to (`keep_aspect`: a
    letterbox, else a stretch): JPEG decoding then skips detail the resize would throw away (1/2..1/8
    scale), other formats are reduced by the largest whole factor that still fills it (a box filter, in the
    stored orientation). `max_pixels` bounds the pixels decoded (a 48 MP photo decoded at 1/8 passes) and the
    memory held while decoding, in 8-bit RGB pixels' worth (inference/decode_cost.py).
    """
    if not data:
        raise EmptyImageError("the image is empty (0 bytes)")
    image = _open(data, max_side, min_side)
    jpeg = jpeg_layout(data) if image.format in ("JPEG", "MPO") else None
    if jpeg is not None and jpeg.scans > MAX_JPEG_SCANS:
        raise ImageTooLargeError(
            f"the JPEG has {jpeg.scans} scans; at most {MAX_JPEG_SCANS} are decoded (encoders write about 10)"
        )
    with _image_errors("the image data is damaged or truncated"):
        if jpeg is None:
            _check_memory(image, None, max_pixels)  # before the EXIF: a PNG reads its whole file for it
        # Pillow turns a TIFF upright itself, in open() and load(): turning it here again would do it twice.
        orientation = 1 if image.format == "TIFF" else image.getexif().get(0x0112, 1)
    transposing = orientation in TRANSPOSING_ORIENTATIONS
    full_w, full_h = image.size[::-1] if transposing else image.size
    needed = needed_size((full_w, full_h), target_size, keep_aspect) if target_size is not None else None
    stored_needed = needed[::-1] if needed is not None and transposing else needed  # pre-rotation orientation
    factor = 1
    if jpeg is not None:
        with _image_errors("the image data is damaged or truncated"):
            if stored_needed is not None:
                image.draft("RGB", stored_needed)
            _check_memory(image, jpeg, max_pixels)  # after the draft: what will really be in memory
    elif stored_needed is not None:
        factor = max(1, min(image.width // stored_needed[0], image.height // stored_needed[1]))
    if jpeg is not None and (fast := decode_rgb(data, image.size, image.mode, orientation)) is not None:
        return DecodedImage(pixels=fast, original_size=(full_w, full_h))  # simplejpeg: the same pixels, faster
    with _image_errors("the image data is damaged or truncated"):
        if image.format == "WEBP":
            source = webp_pixels(data)
        else:
            image.load()
            source = image
        pixels = upright_rgb(source, factor, orientation)
    return DecodedImage(pixels=pixels, original_size=(full_w, full_h))


def needed_size(image_size: tuple[int, int], target_size: tuple[int, int], keep_aspect: bool) -> tuple[int, int]:
    """The smallest (width, height) that still fills `target_size` after a letterbox or stretch resize."""
    (width, height), (target_w, target_h) = image_size, target_size
    if not keep_aspect:
        return min(width, target_w), min(height, target_h)
    ratio = min(target_w / width, target_h / height, 1.0)
    return max(1, math.ceil(width * ratio)), max(1, math.ceil(height * ratio))


def _check_memory(image: Image.Image, jpeg: JpegLayout | None, max_pixels: int) -> None:
    """Refuse images with more than `max_pixels` pixels, or whose decoding would hold more memory than
    `max_pixels` 8-bit RGB pixels do."""
    width, height = image.size
    held, budget = full_size_bytes(image, jpeg), max_pixels * RGB_PIXEL_BYTES
    if width * height > max_pixels or held > budget:
        heavier = ""
        if held > max(budget, width * height * RGB_PIXEL_BYTES):
            why = ", a progressive JPEG's coefficients at full size included" if jpeg and jpeg.coefficient_bytes else ""
            heavier = (
                f" ({image.format} of mode {image.mode}, whose decoding holds {held / 2**20:.1f} MiB{why}, where"
                f" {max_pixels} RGB pixels hold {budget / 2**20:.1f} MiB)"
            )
        what = f"the image has {width}x{height}"
        if jpeg is not None and (jpeg.width, jpeg.height) != (width, height):
            what = f"the {jpeg.width}x{jpeg.height} JPEG is decoded at {width}x{height}"
        raise ImageTooLargeError(f"{what} = {width * height} pixels{heavier}; the limit is {max_pixels} RGB pixels")


@contextmanager
def _image_errors(damaged: str):
    """Pillow's errors for damaged data as CorruptImageError, and its refusals of oversized metadata (PNG text
    or colour-profile chunks that decompress to megabytes) as ImageTooLargeError."""
    try:
        yield
    except UnidentifiedImageError:
        raise
    except _DAMAGED_DATA_ERRORS as exc:
        if any(limit in str(exc) for limit in _METADATA_LIMITS):
            raise ImageTooLargeError(
                f"the image's metadata (text or colour-profile chunks) is too large to read ({exc})"
            ) from None
        raise CorruptImageError(f"{damaged} ({exc})") from None


def _open(data: bytes, max_side: int, min_side: int) -> Image.Image:
    """Read the header only and enforce the side limits before decoding pixels."""
    try:
        with warnings.catch_warnings(), _image_errors("the image header is damaged"):
            # Our own limits below are the guard; Pillow's global one would only warn or differ.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"the image is too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        raise UnsupportedImageError(
            f"the data is not an image in a supported format ({', '.join(SUPPORTED_FORMATS)})"
        ) from None
    width, height = image.size
    if max(width, height) > max_side:
        raise ImageTooLargeError(f"the image is {width}x{height}; the longest side allowed is {max_side}")
    if min(width, height) < min_side:
        raise ImageTooSmallError(f"the image is {width}x{height}; the shortest side must be at least {min_side}")
    return image
