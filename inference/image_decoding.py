"""Image bytes -> upright 8-bit RGB array, with size limits checked before any pixel is decoded."""
from __future__ import annotations

import io
import math
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

# A progressive JPEG is decoded scan by scan, each pass over every block: thousands of tiny scans in a small file
# take minutes (a "scan bomb"). Encoders write about 10. SOS markers counted in the file bound the scans from above.
MAX_JPEG_SCANS = 100
_START_OF_SCAN = b"\xff\xda"
# Peak bytes per pixel while decoding to 8-bit RGB (Pillow's storage of the mode plus the conversions), measured
# with 10 MP images (tests/test_resource_bounds.py keeps the limit honest): the pixel limit is in RGB pixels, so an
# image in a heavier mode (alpha, 16-bit, CMYK, float) gets proportionally fewer.
_PEAK_BYTES_PER_PIXEL = {"RGB": 8, "L": 8, "P": 8, "1": 8, "YCbCr": 8, "CMYK": 11, "RGBA": 17, "RGBa": 17,
                         "LA": 20, "La": 20, "PA": 20, "I;16": 19, "I;16B": 19, "I;16L": 19, "I;16N": 19}
_HEAVIEST = 21  # "I", "F" and any other mode

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
    target_size: tuple[int, int] | None = None,
    keep_aspect: bool = True,
) -> DecodedImage:
    """Decode JPEG/PNG/WebP/BMP/GIF (first frame)/TIFF bytes into upright RGB.

    `target_size` (width, height) is the model input the pixels will be resized to (`keep_aspect`: a
    letterbox, else a stretch): JPEG decoding then skips detail the resize would throw away (1/2..1/8
    scale), and `max_pixels` counts the pixels actually decoded, so a 48 MP photo decoded at 1/8 passes.
    """
    if not data:
        raise EmptyImageError("the image is empty (0 bytes)")
    image = _open(data, max_side, min_side)
    is_jpeg = image.format in ("JPEG", "MPO")
    if is_jpeg and (scans := data.count(_START_OF_SCAN)) > MAX_JPEG_SCANS:
        raise ImageTooLargeError(f"the JPEG has {scans} scans; at most {MAX_JPEG_SCANS} are decoded (encoders write about 10)")
    if not is_jpeg:
        _check_pixels(image.size, max_pixels, image.mode)
    try:
        # PNG looks for EXIF after the pixel data, so this reads (and may trip over) the whole file.
        orientation = image.getexif().get(0x0112, 1)
    except _DAMAGED_DATA_ERRORS as exc:
        raise CorruptImageError(f"the image data is damaged or truncated ({exc})") from None
    full_w, full_h = image.size
    if orientation in _TRANSPOSING_ORIENTATIONS:
        full_w, full_h = full_h, full_w
    if is_jpeg:
        if target_size is not None:
            needed = needed_size((full_w, full_h), target_size, keep_aspect)
            # Draft sizes are in stored (pre-rotation) orientation.
            image.draft("RGB", needed if orientation not in _TRANSPOSING_ORIENTATIONS else needed[::-1])
        _check_pixels(image.size, max_pixels, image.mode)  # after the draft: what will really be in memory
    try:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # upright image; no copy when already upright
        if target_size is not None and not is_jpeg:
            # What JPEG's draft does while decoding, after it: the conversions below then work on fewer pixels.
            image = _reduced(image, needed_size(image.size, target_size, keep_aspect))
        pixels = _to_rgb_array(image)
    except _DAMAGED_DATA_ERRORS as exc:
        raise CorruptImageError(f"the image data is damaged or truncated ({exc})") from None
    return DecodedImage(pixels=pixels, original_size=(full_w, full_h))


def needed_size(image_size: tuple[int, int], target_size: tuple[int, int], keep_aspect: bool) -> tuple[int, int]:
    """The smallest (width, height) that still fills `target_size` after a letterbox or stretch resize."""
    (width, height), (target_w, target_h) = image_size, target_size
    if not keep_aspect:
        return min(width, target_w), min(height, target_h)
    ratio = min(target_w / width, target_h / height, 1.0)
    return max(1, math.ceil(width * ratio)), max(1, math.ceil(height * ratio))


def _reduced(image: Image.Image, needed: tuple[int, int]) -> Image.Image:
    """A box-filtered copy shrunk by the largest whole factor that keeps it at least `needed`, or the image."""
    factor = min(image.width // needed[0], image.height // needed[1])
    if factor < 2:
        return image
    try:
        return image.reduce(factor)
    except ValueError:  # a mode reduce() does not handle: convert at full size
        return image


def _check_pixels(size: tuple[int, int], max_pixels: int, mode: str) -> None:
    """Refuse images whose decoding would take more memory than `max_pixels` 8-bit RGB pixels do."""
    width, height = size
    weight = _PEAK_BYTES_PER_PIXEL.get(mode, _HEAVIEST) / _PEAK_BYTES_PER_PIXEL["RGB"]
    if width * height * weight > max_pixels:
        heavier = f" of mode {mode}, which takes {weight:g}x the memory of RGB to decode," if weight > 1 else ""
        raise ImageTooLargeError(
            f"the image has {width}x{height} = {width * height} pixels{heavier}; the limit is {max_pixels} RGB pixels"
        )


def _open(data: bytes, max_side: int, min_side: int) -> Image.Image:
    """Read the header only and enforce the side limits before decoding pixels."""
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
