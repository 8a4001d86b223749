"""decode_image: every supported format and colour mode becomes upright (h, w, 3) uint8 RGB."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from conftest import DATA
from PIL import Image, ImageFile

from inference import (
    CorruptImageError,
    DecodedImage,
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    UnsupportedImageError,
    decode_image,
)
from inference.decode_cost import RGB_PIXEL_BYTES, full_size_bytes, storage_bytes
from inference.image_decoding import DEFAULT_MAX_PIXELS, MAX_JPEG_SCANS, PNG_TEXT_BYTES
from inference.jpeg_layout import jpeg_layout


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    """Pillow image -> file bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def chelsea_crop() -> np.ndarray:
    """A 64x48 piece of a real photo (the cat's face): many colours, fine detail."""
    return np.asarray(Image.open(DATA / "photos" / "chelsea.png").convert("RGB"))[40:88, 150:214].copy()


def assert_rgb(decoded: DecodedImage, width: int, height: int) -> None:
    """Shape, dtype and sizes of a full-resolution decode."""
    assert decoded.pixels.shape == (height, width, 3)
    assert decoded.pixels.dtype == np.uint8
    assert decoded.original_size == decoded.size == (width, height)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("PNG", {}), ("WEBP", {"lossless": True}), ("BMP", {}), ("TIFF", {}), ("TIFF", {"compression": "tiff_lzw"})],
)
def test_lossless_formats_give_back_the_exact_pixels(chelsea_crop, fmt, options) -> None:
    decoded = decode_image(encode(Image.fromarray(chelsea_crop), fmt, **options))
    assert_rgb(decoded, 64, 48)
    np.testing.assert_array_equal(decoded.pixels, chelsea_crop)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("JPEG", {"quality": 95}), ("JPEG", {"quality": 95, "progressive": True}), ("WEBP", {"quality": 95})],
)
def test_lossy_formats_stay_close_to_the_pixels(chelsea_crop, fmt, options) -> None:
    decoded = decode_image(encode(Image.fromarray(chelsea_crop), fmt, **options))
    assert_rgb(decoded, 64, 48)
    assert np.abs(decoded.pixels.astype(int) - chelsea_crop).mean() < 4


def test_gif_keeps_palette_colours_exactly() -> None:
    blocks = np.zeros((8, 12, 3), np.uint8)
    blocks[:, 4:8] = (10, 200, 30)
    blocks[:, 8:] = (250, 250, 5)
    decoded = decode_image(encode(Image.fromarray(blocks), "GIF"))
    assert_rgb(decoded, 12, 8)
    np.testing.assert_array_equal(decoded.pixels, blocks)


def test_animated_gif_gives_its_first_frame() -> None:
    colours = [(255, 0, 0), (0, 0, 255), (0, 255, 0)]
    frames = [Image.new("RGB", (16, 8), colour) for colour in colours]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 3  # really animated
    decoded = decode_image(data)
    assert_rgb(decoded, 16, 8)
    assert (decoded.pixels == (255, 0, 0)).all()


def test_greyscale_l_becomes_three_equal_channels() -> None:
    grey = np.array([[0, 64], [128, 255]], np.uint8)
    decoded = decode_image(encode(Image.fromarray(grey, "L"), "PNG"))
    assert_rgb(decoded, 2, 2)
    np.testing.assert_array_equal(decoded.pixels, np.repeat(grey[:, :, None], 3, axis=2))


def test_bilevel_image_becomes_black_and_white() -> None:
    bits = Image.new("1", (3, 1), 0)
    bits.putpixel((1, 0), 1)
    assert decode_image(encode(bits, "PNG")).pixels[0].tolist() == [[0, 0, 0], [255, 255, 255], [0, 0, 0]]


def palette_image() -> Image.Image:
    """P mode, two pixels: palette entry 0 = red, entry 1 = green."""
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 6))
    image.putpixel((1, 0), 1)
    return image


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_image_gives_palette_colours(fmt) -> None:
    assert decode_image(encode(palette_image(), fmt)).pixels[0].tolist() == [[255, 0, 0], [0, 255, 0]]


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_becomes_white(fmt) -> None:
    pixels = decode_image(encode(palette_image(), fmt, transparency=1)).pixels
    assert pixels[0].tolist() == [[255, 0, 0], [255, 255, 255]]


def test_rgba_transparent_pixels_become_white_and_opaque_ones_stay() -> None:
    # transparent black, opaque blue-grey, half-transparent red
    rgba = np.array([[[0, 0, 0, 0], [20, 40, 60, 255], [255, 0, 0, 128]]], np.uint8)
    pixels = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG")).pixels
    assert pixels[0, 0].tolist() == [255, 255, 255]
    assert pixels[0, 1].tolist() == [20, 40, 60]
    assert pixels[0, 2, 0] == 255 and abs(int(pixels[0, 2, 1]) - 127) <= 1  # half red over white is pink


def test_grey_with_alpha_composites_on_white() -> None:
    la = Image.new("LA", (2, 1), (10, 0))
    la.putpixel((1, 0), (10, 255))
    assert decode_image(encode(la, "PNG")).pixels[0].tolist() == [[255, 255, 255], [10, 10, 10]]


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_greyscale_is_scaled_not_clipped(fmt) -> None:
    deep = np.array([[65535, 32768, 256, 200, 0]], np.uint16)
    image = Image.fromarray(deep)
    assert image.mode == "I;16"
    assert decode_image(encode(image, fmt)).pixels[0, :, 0].tolist() == [255, 128, 1, 0, 0]


def test_32_bit_integer_greyscale_neither_wraps_nor_goes_negative() -> None:
    wide = Image.fromarray(np.array([[70_000, 32_768, -5]], np.int32))
    assert decode_image(encode(wide, "TIFF")).pixels[0, :, 0].tolist() == [255, 128, 0]


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    decoded = decode_image(encode(cmyk, "JPEG", quality=95))
    assert_rgb(decoded, 16, 16)
    assert np.abs(decoded.pixels.astype(int) - (255, 0, 0)).max() <= 8


# EXIF orientation -> the Pillow transpose that stores an upright image so that the tag turns it back.
STORED_FOR_ORIENTATION = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def stored_with_orientation(upright: Image.Image, orientation: int, **options) -> bytes:
    """JPEG bytes holding the picture turned as a camera stores it, tagged with `orientation`."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(upright.transpose(STORED_FOR_ORIENTATION[orientation]), "JPEG", quality=95, exif=exif, **options)


def test_exif_rotated_file_decodes_upright(ground_truth) -> None:
    truth = ground_truth["exif_rotated"]
    decoded = decode_image((DATA / truth["file"]).read_bytes())
    assert_rgb(decoded, truth["upright_width"], truth["upright_height"])
    upright = decode_image((DATA / truth["same_as"]).read_bytes()).pixels.astype(int)
    assert np.abs(decoded.pixels - upright).mean() < 6  # JPEG loss only
    assert np.abs(np.rot90(decoded.pixels) - upright).mean() > 50  # a wrong turn would be far off


@pytest.mark.parametrize("orientation", sorted(STORED_FOR_ORIENTATION))
def test_exif_orientations_decode_upright(orientation) -> None:
    upright = Image.open(DATA / "photos" / "coffee.jpg")  # 600x400: a wrong transpose changes the shape
    decoded = decode_image(stored_with_orientation(upright, orientation))
    assert_rgb(decoded, 600, 400)
    assert np.abs(decoded.pixels.astype(int) - np.asarray(upright)).mean() < 4


def upscaled_astronaut_jpeg() -> bytes:
    """The astronaut at 2048x2048: big enough for a reduced-size JPEG decode."""
    return encode(Image.open(DATA / "photos" / "astronaut.jpg").resize((2048, 2048), Image.Resampling.BILINEAR), "JPEG")


def test_draft_decode_keeps_original_size_with_fewer_pixels() -> None:
    data = upscaled_astronaut_jpeg()
    full = decode_image(data)
    reduced = decode_image(data, target_size=(416, 416))
    assert_rgb(full, 2048, 2048)
    assert reduced.original_size == (2048, 2048)
    assert reduced.size == (512, 512)  # the largest 1/2^k scale still at least 416 on each side


@pytest.mark.parametrize(("keep_aspect", "expected"), [(True, (500, 375)), (False, (1000, 750))])
def test_draft_scale_follows_what_the_resize_keeps(keep_aspect, expected) -> None:
    """4000x3000 into 416x416: a letterbox keeps 416x312, so 1/8 suffices; a stretch needs 416 rows, so 1/4."""
    photo = Image.open(DATA / "photos" / "coffee.jpg").resize((4000, 3000), Image.Resampling.BILINEAR)
    reduced = decode_image(encode(photo, "JPEG"), target_size=(416, 416), keep_aspect=keep_aspect)
    assert reduced.size == expected
    assert reduced.original_size == (4000, 3000)


def test_pixel_limit_counts_decoded_jpeg_pixels_only() -> None:
    """A 48 MP JPEG decoded at 1/8 is within a 40 MP limit; without a target it is refused."""
    data = encode(Image.new("RGB", (8064, 6048), (90, 120, 150)), "JPEG", quality=50)
    reduced = decode_image(data, max_pixels=40_000_000, target_size=(416, 416))
    assert reduced.size == (1008, 756)
    with pytest.raises(ImageTooLargeError):
        decode_image(data, max_pixels=40_000_000)
    png = encode(Image.new("RGB", (3000, 2000)), "PNG")
    with pytest.raises(ImageTooLargeError):  # other formats need every pixel: the limit is the file's size
        decode_image(png, max_pixels=5_000_000, target_size=(416, 416))


def test_draft_decode_of_a_rotated_jpeg_is_upright() -> None:
    upright = Image.open(DATA / "photos" / "coffee.jpg").resize((1800, 1200), Image.Resampling.BILINEAR)
    reduced = decode_image(stored_with_orientation(upright, 6), target_size=(416, 416))
    assert reduced.original_size == (1800, 1200)
    assert reduced.size == (450, 300)  # upright 416x278 is all a letterbox keeps: 1/4 scale


def test_other_formats_are_reduced_by_a_whole_factor_that_still_fills_the_target(chelsea_crop) -> None:
    png = encode(Image.fromarray(chelsea_crop).resize((1280, 960)), "PNG", compress_level=1)
    decoded = decode_image(png, target_size=(416, 416))
    # 1280x960 letterboxed into 416 needs 416x312: a third (427x320) still covers it, a quarter would not.
    assert decoded.size == (427, 320) and decoded.original_size == (1280, 960)
    assert decode_image(png, target_size=(1000, 1000)).size == (1280, 960)  # no whole factor fits: full size
    assert decode_image(png).size == (1280, 960)  # no target: full size


def test_zero_bytes_is_an_empty_image() -> None:
    with pytest.raises(EmptyImageError, match="empty"):
        decode_image(b"")


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.mark.parametrize(
    "data", [b"just some text, not a picture\n", b'{"image": "no"}', MINIMAL_PDF], ids=["text", "json", "pdf"]
)
def test_non_images_are_unsupported(data) -> None:
    with pytest.raises(UnsupportedImageError, match="not an image"):
        decode_image(data)


def test_format_outside_the_supported_list_is_unsupported(chelsea_crop) -> None:
    with pytest.raises(UnsupportedImageError):
        decode_image(encode(Image.fromarray(chelsea_crop), "PPM"))  # Pillow reads it, the service does not


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF"])
def test_truncated_images_are_corrupt(chelsea_crop, fmt) -> None:
    data = encode(Image.fromarray(chelsea_crop), fmt)
    with pytest.raises(CorruptImageError):
        decode_image(data[: len(data) // 2])


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_damaged_bytes_raise_only_image_errors(chelsea_crop, fmt) -> None:
    """Cuts and flipped bytes anywhere: a clean decode or an ImageError, never anything else."""
    data = encode(Image.fromarray(chelsea_crop), fmt)
    rng = np.random.default_rng(7)
    damaged = [data[:cut] for cut in range(1, len(data), max(1, len(data) // 40))]
    for _ in range(60):
        flipped = bytearray(data)
        for position in rng.integers(len(data), size=3).tolist():
            flipped[position] = int(rng.integers(256))
        damaged.append(bytes(flipped))
    for sample in damaged:
        try:
            decoded = decode_image(sample)
        except ImageError:
            continue
        assert decoded.pixels.dtype == np.uint8 and decoded.pixels.ndim == 3


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height (1-bit grey) with a tiny IDAT: costs nothing to build."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    tiny_data = zlib.compress(bytes(64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", tiny_data) + chunk(b"IEND", b"")


def gif_declaring(width: int, height: int) -> bytes:
    """A 1x1 GIF whose logical screen claims width x height (a decompression bomb's shape)."""
    data = bytearray(encode(Image.new("L", (1, 1)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


@pytest.fixture()
def pixel_loads(monkeypatch) -> list[int]:
    """Records every pixel decode Pillow starts."""
    calls: list[int] = []
    original = ImageFile.ImageFile.load

    def recording_load(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    return calls


@pytest.mark.parametrize(
    ("declaring", "width", "height"),
    [
        (png_declaring, 30_000, 30_000),
        (png_declaring, 8_000, 8_000),
        (gif_declaring, 65_535, 65_535),
        (gif_declaring, 7_000, 7_000),
    ],
    ids=["png-900M", "png-64M", "gif-4G", "gif-49M"],  # above and below Pillow's own bomb limit
)
def test_too_many_pixels_is_refused_before_decoding(declaring, width, height, pixel_loads) -> None:
    data = declaring(width, height)
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLargeError, match=f"{width * height} pixels"):
            decode_image(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # tracemalloc sees numpy and Python allocations, not Pillow's C buffers: the load spy covers those.
    assert pixel_loads == []
    assert peak < 50_000_000


def test_max_pixels_is_configurable(chelsea_crop) -> None:
    data = encode(Image.fromarray(chelsea_crop), "PNG")  # 64x48 = 3072 pixels
    with pytest.raises(ImageTooLargeError, match="3072 pixels; the limit is 3000"):
        decode_image(data, max_pixels=3000)
    assert decode_image(data, max_pixels=3072).size == (64, 48)


def test_too_long_a_side_is_refused(pixel_loads) -> None:
    with pytest.raises(ImageTooLargeError, match="30000x1; the longest side allowed is 12000"):
        decode_image(png_declaring(30_000, 1))
    assert pixel_loads == []


def test_too_short_a_side_is_refused(chelsea_crop) -> None:
    with pytest.raises(ImageTooSmallError, match="at least 50"):
        decode_image(encode(Image.fromarray(chelsea_crop), "PNG"), min_side=50)


def test_the_pixel_load_spy_sees_a_real_decode(chelsea_crop, pixel_loads) -> None:
    decode_image(encode(Image.fromarray(chelsea_crop), "PNG"))
    assert pixel_loads  # so an empty list above means "never decoded", not "never looked"


def test_float_tiff_in_0_to_1_is_scaled_to_0_to_255() -> None:
    unit = Image.fromarray(np.array([[1.0, 0.5, 0.0, -0.2]], np.float32))
    assert unit.mode == "F"
    assert decode_image(encode(unit, "TIFF")).pixels[0, :, 0].tolist() == [255, 127, 0, 0]


def test_float_tiff_in_0_to_255_keeps_its_values() -> None:
    wide = Image.fromarray(np.array([[300.0, 200.0, 1.0, 0.0]], np.float32))
    assert decode_image(encode(wide, "TIFF")).pixels[0, :, 0].tolist() == [255, 200, 1, 0]


def test_float_tiff_with_nan_is_not_garbage() -> None:
    odd = Image.fromarray(np.array([[np.nan, 0.5, 1.0]], np.float32))
    assert decode_image(encode(odd, "TIFF")).pixels[0, :, 0].tolist() == [0, 127, 255]


# ---- scans counted at marker positions only ----------------------------------------------------


def jpeg_with_icc(icc: bytes, **options) -> bytes:
    """A photo saved as JPEG with `icc` as its colour profile (split over APP2 segments by Pillow)."""
    return encode(Image.open(DATA / "photos" / "coffee.jpg"), "JPEG", quality=90, icc_profile=icc, **options)


def test_start_of_scan_bytes_inside_a_colour_profile_are_not_scans() -> None:
    # 600 KB of random bytes hold about 9 "FF DA" pairs by chance; ours hold 300 more on purpose.
    icc = bytearray(np.random.default_rng(0).integers(0, 256, 600_000, dtype=np.uint8).tobytes())
    for at in range(1000, len(icc) - 2, 2000):
        icc[at : at + 2] = b"\xff\xda"
    data = jpeg_with_icc(bytes(icc))
    assert data.count(b"\xff\xda") > MAX_JPEG_SCANS
    assert jpeg_layout(data).scans == 1
    assert decode_image(data).size == (600, 400)
    progressive = jpeg_with_icc(bytes(icc), progressive=True)
    layout = jpeg_layout(progressive)
    assert 1 < layout.scans <= 12 and layout.progressive
    assert decode_image(progressive).size == (600, 400)


def test_scans_are_counted_through_restart_markers_stuffing_and_fill_bytes() -> None:
    data = encode(
        Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8)),
        "JPEG",
        quality=95,
        progressive=True,
    )
    scans = jpeg_layout(data).scans
    assert b"\xff\x00" in data  # stuffed bytes in the entropy-coded data
    sos = data.index(b"\xff\xda")
    padded = data[:sos] + b"\xff\xff\xff" + data[sos:]  # fill bytes before a marker are allowed
    assert jpeg_layout(padded).scans == scans
    assert decode_image(padded).size == (64, 64)


def test_a_jpeg_with_more_scans_than_the_limit_is_refused() -> None:
    data = encode(Image.new("RGB", (32, 32), (1, 2, 3)), "JPEG", progressive=True)
    sos = data.index(b"\xff\xda")
    eoi = data.rindex(b"\xff\xd9")
    last_scan = data[data.rindex(b"\xff\xda") : eoi]
    bomb = data[:eoi] + last_scan * MAX_JPEG_SCANS + data[eoi:]
    assert sos > 0 and jpeg_layout(bomb).scans > MAX_JPEG_SCANS
    with pytest.raises(ImageTooLargeError, match="scans"):
        decode_image(bomb)


# ---- honest messages for oversized metadata ------------------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


METADATA_BOMBS = {
    "zTXt": png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(bytes(20_000_000), 9)),
    "iCCP": png_chunk(b"iCCP", b"icc\0\0" + zlib.compress(bytes(20_000_000), 9)),
    "iTXt": png_chunk(b"iTXt", b"Comment\0\1\0\0\0" + zlib.compress(bytes(20_000_000), 9)),
    "80 zTXt of 0.9 MB": b"".join(
        png_chunk(b"zTXt", b"C%d\0\0" % i + zlib.compress(b"a" * 900_000)) for i in range(80)
    ),
    "5 zTXt of 0.9 MB": b"".join(png_chunk(b"zTXt", b"C%d\0\0" % i + zlib.compress(b"a" * 900_000)) for i in range(5)),
}


def test_a_png_keeps_a_few_megabytes_of_text(chelsea_crop) -> None:
    png = encode(Image.fromarray(chelsea_crop), "PNG")
    at = png.index(b"IDAT") - 4
    chunks = PNG_TEXT_BYTES // 900_000
    text = b"".join(png_chunk(b"zTXt", b"C%d\0\0" % i + zlib.compress(b"a" * 900_000)) for i in range(chunks))
    assert decode_image(png[:at] + text + png[at:]).size == (64, 48)


@pytest.mark.parametrize("where", ["before the pixels", "after the pixels"])
@pytest.mark.parametrize("bomb", METADATA_BOMBS)
def test_png_metadata_that_decompresses_to_megabytes_is_too_large_not_damaged(chelsea_crop, bomb, where) -> None:
    png = encode(Image.fromarray(chelsea_crop), "PNG")
    at = png.index(b"IDAT") - 4 if where == "before the pixels" else png.index(b"IEND") - 4
    data = png[:at] + METADATA_BOMBS[bomb] + png[at:]
    assert len(data) < 1_000_000
    with pytest.raises(ImageTooLargeError, match="metadata .* too large") as refused:
        decode_image(data)
    assert "damaged" not in str(refused.value)


# ---- strips, reductions and orientations --------------------------------------------------------


def in_mode(pixels: np.ndarray, mode: str) -> Image.Image:
    """A picture in `mode`, with transparency where the mode has it."""
    image = Image.fromarray(pixels)
    if mode == "P+tRNS":
        palette = image.quantize(64)
        palette.info["transparency"] = 3
        return palette
    if mode in ("RGBA", "LA"):
        alpha = Image.fromarray(np.tile(np.linspace(0, 255, pixels.shape[1]).astype(np.uint8), (pixels.shape[0], 1)))
        converted = image.convert(mode)
        converted.putalpha(alpha)
        return converted
    if mode == "I;16":
        return Image.fromarray(np.asarray(image.convert("L")).astype(np.uint16) * 257)
    return image.convert(mode)


@pytest.mark.parametrize("mode", ["RGB", "L", "1", "P", "P+tRNS", "RGBA", "LA", "I;16", "CMYK"])
def test_strip_by_strip_gives_the_pixels_of_a_whole_image_conversion(monkeypatch, chelsea_crop, mode) -> None:
    import inference.rgb_strips as strips

    image = in_mode(np.asarray(Image.fromarray(chelsea_crop).resize((320, 240))), mode)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    data = encode(image, fmt, **({"transparency": 3} if mode == "P+tRNS" else {}))
    whole = decode_image(data, target_size=(100, 100))
    monkeypatch.setattr(strips, "STRIP_BYTES", 320 * 4 * 7)  # strips of 7 rows, or a factor's multiple
    in_strips = decode_image(data, target_size=(100, 100))
    assert whole.size == (107, 80)
    np.testing.assert_array_equal(in_strips.pixels, whole.pixels)
    # The reference: the whole image turned RGB (transparency on white), then box-reduced.
    reference = image.convert("RGBA") if mode in ("RGBA", "LA", "P+tRNS") else image
    if mode == "I;16":  # its top 8 bits (Pillow's own conversion clips at 255)
        reference = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    if reference.mode == "RGBA":
        reference = Image.alpha_composite(Image.new("RGBA", reference.size, (255,) * 4), reference)
    expected = np.asarray(reference.convert("RGB").reduce(3), dtype=int)
    # Alpha and CMYK are reduced in their own mode, then converted (premultiplied alpha): rounding only.
    tolerance = {"RGBA": 2, "LA": 2, "CMYK": 1}.get(mode, 0)
    assert np.abs(whole.pixels.astype(int) - expected).max() <= tolerance


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_of_a_reduced_png_is_applied(orientation) -> None:
    upright = np.random.default_rng(orientation).integers(0, 256, (60, 90, 3), dtype=np.uint8)  # divisible by 3
    inverse = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }
    picture = Image.fromarray(upright)
    stored = picture.transpose(inverse[orientation]) if orientation in inverse else picture
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "PNG", exif=exif)
    full = decode_image(data)
    np.testing.assert_array_equal(full.pixels, upright)
    reduced = decode_image(data, target_size=(30, 30))
    assert reduced.original_size == (90, 60) and reduced.size == (30, 20)
    np.testing.assert_array_equal(reduced.pixels, np.asarray(picture.reduce(3)))


def test_palette_with_transparency_is_reduced_like_other_modes() -> None:
    image = Image.new("P", (4000, 3000), 1)
    image.putpalette([0, 0, 0, 200, 40, 40] + [0] * 762)
    image.paste(0, (0, 0, 2000, 3000))  # the left half transparent
    decoded = decode_image(encode(image, "PNG", transparency=0), target_size=(640, 640))
    assert decoded.original_size == (4000, 3000) and decoded.size == (667, 500)
    assert decoded.pixels[:, :330].min() == 255  # transparent: white
    assert decoded.pixels[:, 340:].reshape(-1, 3).tolist()[0] == [200, 40, 40]


def test_the_memory_a_format_holds_is_what_the_pixel_limit_counts() -> None:
    """libwebp's decode peaks at 8 bytes a pixel (OpenCV's), twice an RGB image's memory in Pillow."""
    webp = encode(Image.new("RGB", (1000, 1000), (9, 9, 9)), "WEBP", lossless=True)
    with pytest.raises(ImageTooLargeError, match=r"WEBP of mode RGB, whose decoding holds 7.6 MiB, where 1900000 RGB"):
        decode_image(webp, max_pixels=1_900_000)
    assert decode_image(webp, max_pixels=2_000_000).size == (1000, 1000)
    progressive = encode(Image.new("RGB", (2000, 2000), (9, 9, 9)), "JPEG", progressive=True, subsampling=0)
    # Decoded at 1/8 (250x250), but its 2000x2000x3 coefficients (2 bytes each) are held: 24 MB.
    with pytest.raises(ImageTooLargeError, match="2000x2000 JPEG is decoded at 250x250 .* coefficients at full size"):
        decode_image(progressive, max_pixels=5_000_000, target_size=(200, 200))
    assert decode_image(progressive, max_pixels=6_100_000, target_size=(200, 200)).size == (250, 250)


def test_the_costs_docs_deploy_md_states_are_the_code_s() -> None:
    doc = " ".join((DATA.parent.parent / "docs" / "deploy.md").read_text().split())
    budget_mib = DEFAULT_MAX_PIXELS * RGB_PIXEL_BYTES / 2**20
    assert f"({RGB_PIXEL_BYTES} bytes each: {budget_mib:.0f} MiB at the default)" in doc
    webp = Image.open(io.BytesIO(encode(Image.new("RGB", (10, 10)), "WEBP", lossless=True)))
    webp_bytes = full_size_bytes(webp) // 100
    assert f"a WebP {webp_bytes} " in doc
    assert f"a WebP is refused above {DEFAULT_MAX_PIXELS * RGB_PIXEL_BYTES // webp_bytes / 1e6:.0f} MP" in doc
    stored = {mode: storage_bytes(mode) for mode in ("P", "1", "L", "I;16", "RGB", "RGBA", "LA", "CMYK", "F")}
    assert stored["P"] == stored["1"] == stored["L"] == 1 and stored["I;16"] == 2
    assert {stored[mode] for mode in ("RGB", "RGBA", "LA", "CMYK", "F")} == {4}
    assert "a palette, 1-bit or grey pixel takes 1 byte, 16-bit grey 2, RGB, RGBA, LA, CMYK and float 4" in doc
    assert f"more than {MAX_JPEG_SCANS} scans" in doc
    assert f"{PNG_TEXT_BYTES / 2**20:g} MiB in all (`PNG_TEXT_BYTES`" in doc


def webp_reference(data: bytes) -> np.ndarray:
    """What Pillow's own WebP decoder gives (first frame, transparency on white)."""
    image = Image.open(io.BytesIO(data)).convert("RGBA")
    return np.asarray(Image.alpha_composite(Image.new("RGBA", image.size, (255,) * 4), image).convert("RGB"))


@pytest.mark.parametrize("kind", ["lossy", "lossless", "lossy with alpha", "animated"])
def test_webp_decodes_to_what_pillow_decodes(kind) -> None:
    photo = Image.open(DATA / "photos" / "coffee.jpg").convert("RGBA")
    photo.putalpha(Image.linear_gradient("L").resize(photo.size))
    if kind == "lossy":
        data = encode(photo.convert("RGB"), "WEBP", quality=80)
    elif kind == "lossless":
        data = encode(photo.convert("RGB"), "WEBP", lossless=True)
    elif kind == "lossy with alpha":
        data = encode(photo, "WEBP", quality=80)
    else:
        data = encode(photo, "WEBP", save_all=True, append_images=[photo.rotate(90)], quality=80)
    np.testing.assert_array_equal(decode_image(data).pixels, webp_reference(data))


@pytest.mark.parametrize("compression", [None, "tiff_lzw", "tiff_deflate"])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_tiff_is_turned_upright_once(compression, orientation):
    """Pillow turns a TIFF upright itself: the decoder must not turn it again."""
    from PIL import ImageOps

    stored = np.zeros((30, 50, 3), np.uint8)
    stored[:5, :10] = 255  # a white corner shows where the image went
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "TIFF", exif=exif, compression=compression)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue()))).convert("RGB"))
    decoded = decode_image(buffer.getvalue())
    assert decoded.pixels.shape == upright.shape and (decoded.pixels == upright).all()
    assert decoded.original_size == (upright.shape[1], upright.shape[0])


def test_a_jpeg_frame_cut_short_is_damaged_not_a_crash():
    """A frame header naming 3 components with none written, and a stray short frame in the scan: a 422, no 500."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 48, 3), np.uint8)).save(buffer, "JPEG")
    data = buffer.getvalue()
    frame = data.find(b"\xff\xc0")
    length = int.from_bytes(data[frame + 2 : frame + 4], "big")
    cut = data[:frame] + b"\xff\xc0\x00\x08" + data[frame + 4 : frame + 10] + data[frame + 2 + length :]
    assert jpeg_layout(cut).sampling == ()
    for damaged in (cut, cut[:-2] + b"\xff\xc0\x00\x09\x08\x00\x10\x00\x10\x01\x11"):
        with pytest.raises(CorruptImageError):
            decode_image(damaged)


def test_a_tiff_with_an_infinite_strip_height_is_damaged_not_a_crash():
    """RowsPerStrip retyped to a double holding infinity: the decode budget must not overflow into a 500."""
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((30, 50, 3), np.uint8)).save(buffer, "TIFF", compression="tiff_deflate")
    data = bytearray(buffer.getvalue())
    directory = struct.unpack("<I", data[4:8])[0]
    infinity_at = len(data)
    data += struct.pack("<d", float("inf"))
    for entry in range(struct.unpack("<H", data[directory : directory + 2])[0]):
        at = directory + 2 + 12 * entry
        if struct.unpack("<H", data[at : at + 2])[0] == 278:  # RowsPerStrip, as a DOUBLE (type 12)
            data[at : at + 12] = struct.pack("<HHII", 278, 12, 1, infinity_at)
    with pytest.raises(CorruptImageError):
        decode_image(bytes(data))


def test_megabytes_of_stuffed_bytes_are_walked_without_a_marker_each():
    """A scan padded with 0xFF00 pairs still has one scan and its frame (the walk searches, it does not step)."""
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buffer, "JPEG")
    data = buffer.getvalue()
    padded = data[:-2] + b"\xff\x00" * 500_000 + b"\xff\xd0" + data[-2:]
    layout = jpeg_layout(padded)
    assert (layout.scans, layout.width, layout.height) == (1, 16, 16)
