"""Small files that decode huge, one per colour mode and format, and the peak memory of decoding one in a fresh
process. Generated on the fly: a flat image of tens of megapixels compresses to a few KB."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, pixel: bytes, extra: bytes = b"") -> bytes:
    """A flat PNG written by hand (Pillow cannot save every depth): `pixel` is one pixel's bytes (or a whole
    row's when the depth packs several pixels in a byte); `extra` chunks go before the pixel data."""
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([bit_depth, colour_type, 0, 0, 0])
    row_bytes = (width * bit_depth * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type] + 7) // 8
    row = b"\x00" + (pixel * (row_bytes // len(pixel) + 1))[:row_bytes]
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + extra + png_chunk(b"IDAT", pixels) + png_chunk(b"IEND", b"")
    )


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _palette(width: int, height: int) -> Image.Image:
    image = Image.new("P", (width, height), 1)
    image.putpalette([(i * 37) % 256 for i in range(768)])
    image.paste(0, (0, 0, width // 3, height // 3))  # some pixels of the transparent index
    return image


def palette_trns_png(w: int, h: int) -> bytes:
    return _saved(_palette(w, h), "PNG", transparency=0, optimize=False)


def palette_png(w: int, h: int) -> bytes:
    return _saved(_palette(w, h), "PNG")


def bilevel_png(w: int, h: int) -> bytes:
    return raw_png(w, h, 1, 0, b"\xaa")


def grey_png(w: int, h: int) -> bytes:
    return raw_png(w, h, 8, 0, b"\x80")


def grey_alpha_png(w: int, h: int) -> bytes:
    return raw_png(w, h, 8, 4, b"\x80\x80")


def rgb_png(w: int, h: int) -> bytes:
    return raw_png(w, h, 8, 2, b"\x5a\x78\x96")


def rgb_png_with_text(w: int, h: int) -> bytes:
    """Pixels and as much compressed text as a PNG may carry beside them (3 MB, 3 KB in the file)."""
    text = b"".join(png_chunk(b"zTXt", b"C%d\0\0" % i + zlib.compress(b"a" * 1_000_000, 9)) for i in range(3))
    return raw_png(w, h, 8, 2, b"\x5a\x78\x96", extra=text)


def rgba_png(w: int, h: int) -> bytes:
    return raw_png(w, h, 8, 6, b"\x5a\x78\x96\x80")


def grey16_png(w: int, h: int) -> bytes:
    return raw_png(w, h, 16, 0, b"\x80\x00")


def rgb16_png(w: int, h: int) -> bytes:
    return raw_png(w, h, 16, 2, b"\x12\x34\x56\x78\x9a\xbc")


def rgba16_png(w: int, h: int) -> bytes:
    return raw_png(w, h, 16, 6, b"\x12\x34" * 4)


def grey_alpha16_png(w: int, h: int) -> bytes:
    return raw_png(w, h, 16, 4, b"\x12\x34\x80\x00")


def cmyk_jpeg(w: int, h: int) -> bytes:
    return _saved(Image.new("CMYK", (w, h), (0, 200, 200, 0)), "JPEG", quality=50)


def cmyk_tiff(w: int, h: int) -> bytes:
    return _saved(Image.new("CMYK", (w, h), (0, 200, 200, 0)), "TIFF", compression="tiff_adobe_deflate")


def rgb_jpeg(w: int, h: int) -> bytes:
    return _saved(Image.new("RGB", (w, h), (90, 120, 150)), "JPEG", quality=50)


def webp_lossless(w: int, h: int) -> bytes:
    return _saved(Image.new("RGBA", (w, h), (90, 120, 150, 200)), "WEBP", lossless=True)


def webp_lossy(w: int, h: int) -> bytes:
    return _saved(Image.new("RGB", (w, h), (90, 120, 150)), "WEBP", quality=10)


def palette_gif(w: int, h: int) -> bytes:
    return _saved(_palette(w, h), "GIF", transparency=0)


def palette_bmp(w: int, h: int) -> bytes:
    return _saved(_palette(w, h), "BMP")


def bilevel_tiff(w: int, h: int) -> bytes:
    return _saved(Image.new("1", (w, h), 1), "TIFF", compression="group4")


def float_tiff(w: int, h: int) -> bytes:
    return _saved(Image.new("F", (w, h), 0.5), "TIFF", compression="tiff_adobe_deflate")


def one_strip_float_tiff(w: int, h: int) -> bytes:
    """Compressed as one strip: libtiff decodes it into a buffer as large as the image, beside the image."""
    from PIL import TiffImagePlugin

    saved, TiffImagePlugin.STRIP_SIZE = TiffImagePlugin.STRIP_SIZE, 1 << 40
    try:
        return _saved(Image.new("F", (w, h), 0.5), "TIFF", compression="tiff_adobe_deflate")
    finally:
        TiffImagePlugin.STRIP_SIZE = saved


def rle_bmp(w: int, h: int) -> bytes:
    """8-bit run-length BMP (Pillow cannot write one): rows of 255-pixel runs."""
    row = bytes([255, 1]) * (w // 255) + (bytes([w % 255, 1]) if w % 255 else b"") + b"\x00\x00"
    data = row * h + b"\x00\x01"
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 1, len(data), 2835, 2835, 256, 0)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + data


# Name -> maker(width, height).
WORST_CASES: dict[str, Callable[[int, int], bytes]] = {
    "palette+tRNS PNG": palette_trns_png,
    "palette PNG": palette_png,
    "1-bit PNG": bilevel_png,
    "L PNG": grey_png,
    "LA PNG": grey_alpha_png,
    "RGB PNG": rgb_png,
    "RGB PNG with 3 MB of text": rgb_png_with_text,
    "RGBA PNG": rgba_png,
    "16-bit grey PNG": grey16_png,
    "16-bit RGB PNG": rgb16_png,
    "16-bit RGBA PNG": rgba16_png,
    "16-bit LA PNG": grey_alpha16_png,
    "RGB JPEG": rgb_jpeg,
    "CMYK JPEG": cmyk_jpeg,
    "CMYK TIFF": cmyk_tiff,
    "WebP lossless": webp_lossless,
    "WebP lossy": webp_lossy,
    "palette GIF": palette_gif,
    "palette BMP": palette_bmp,
    "1-bit TIFF": bilevel_tiff,
    "float TIFF": float_tiff,
    "one-strip float TIFF": one_strip_float_tiff,
    "run-length BMP": rle_bmp,
}

# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
_CHILD = """
import json, re, sys
from inference.image_decoding import decode_image
from inference.errors import ImageError
def peak_mib():
    with open('/proc/self/status') as status:
        return int(re.search(r'VmHWM:\\s+(\\d+) kB', status.read()).group(1)) / 1024
data = open(sys.argv[1], 'rb').read()
target = json.loads(sys.argv[2])
before = peak_mib()
try:
    decoded = decode_image(data, target_size=tuple(target) if target else None)
    outcome = {"size": list(decoded.size)}
except ImageError as exc:
    outcome = {"refused": type(exc).__name__, "message": str(exc)}
outcome["peak_mib"] = peak_mib()
outcome["growth_mib"] = outcome["peak_mib"] - before
print(json.dumps(outcome))
"""


def decode_in_child(data: bytes, target_size: tuple[int, int] | None = (640, 640)) -> dict:
    """Decode `data` in a fresh Python process: {"size"} or {"refused", "message"}, plus the process's peak RSS
    (`peak_mib`) and how much decoding added to it (`growth_mib`)."""
    with tempfile.NamedTemporaryFile(suffix=".img") as file:
        file.write(data)
        file.flush()
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, file.name, json.dumps(target_size)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    return json.loads(done.stdout)


def noise(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def progressive_jpeg(w: int, h: int) -> bytes:
    """Every DCT coefficient of the image is held until the last scan, whatever the scale decoded."""
    return _saved(Image.new("RGB", (w, h), (90, 120, 150)), "JPEG", quality=50, progressive=True, subsampling=0)


WORST_CASES["progressive JPEG 4:4:4"] = progressive_jpeg

_REFUSAL = re.compile(
    r"= (\d+) pixels(?: \(.* holds ([\d.]+) MiB.* where \d+ RGB pixels hold ([\d.]+) MiB\))?;"
    r" the limit is (\d+) RGB pixels"
)


def largest_accepted(maker: Callable[[int, int], bytes], width: int, height: int, target_size, tries: int = 5):
    """(width, height, data, outcome) of the largest image of `maker`'s kind, with the aspect of width x height,
    that decoding accepts: each refusal says how far over the limit the image was."""
    for _ in range(tries):
        data = maker(width, height)
        outcome = decode_in_child(data, target_size)
        if "refused" not in outcome:
            return width, height, data, outcome
        found = _REFUSAL.search(outcome["message"])
        assert found, outcome["message"]
        pixels, held, budget, limit = int(found[1]), float(found[2] or 0), float(found[3] or 1), int(found[4])
        shrink = min(0.98, min(limit / pixels, budget / max(held, 1e-9)) ** 0.5 * 0.99)
        width, height = int(width * shrink), int(height * shrink)
    raise AssertionError(f"still refused at {width}x{height}: {outcome}")


def webp_lossy_alpha(w: int, h: int) -> bytes:
    return _saved(Image.new("RGBA", (w, h), (90, 120, 150, 200)), "WEBP", quality=10)


def animated_webp(w: int, h: int) -> bytes:
    frames = [Image.new("RGBA", (w, h), (90, 120, 150, 200)), Image.new("RGBA", (w, h), (150, 120, 90, 100))]
    return _saved(frames[0], "WEBP", lossless=True, save_all=True, append_images=frames[1:])


WORST_CASES["WebP lossy with alpha"] = webp_lossy_alpha
WORST_CASES["animated WebP"] = animated_webp
