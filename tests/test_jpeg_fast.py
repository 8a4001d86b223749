"""The simplejpeg fast path gives Pillow's pixels (within DECODE_TOLERANCE), or steps aside (None)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import DATA
from PIL import Image, ImageOps

from inference import jpeg_fast
from inference.jpeg_fast import DECODE_TOLERANCE, decode_rgb

pytestmark = pytest.mark.skipif(jpeg_fast.simplejpeg is None, reason="simplejpeg is not installed")

PHOTOS = sorted([*(DATA / "photos").glob("*.jpg"), *(DATA / "coco-dev" / "images").glob("*.jpg")])


def jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def pillow_decode(data: bytes, draft: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, int], str, int]:
    """What Pillow gives (upright RGB), and the draft size, mode and orientation the fast path is told."""
    image = Image.open(io.BytesIO(data))
    orientation = image.getexif().get(0x0112, 1)
    if draft is not None:
        image.draft("RGB", draft)
    size, mode = image.size, image.mode
    image.load()
    pixels = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    return pixels, size, mode, orientation


def assert_same(fast: np.ndarray | None, slow: np.ndarray) -> None:
    assert fast is not None
    assert fast.dtype == np.uint8 and fast.flags.c_contiguous
    assert fast.shape == slow.shape
    assert np.abs(fast.astype(int) - slow).max() <= DECODE_TOLERANCE


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.name)
@pytest.mark.parametrize("draft", [None, (416, 416), (160, 120), (64, 48)], ids=str)
def test_real_photos_decode_as_pillow_does(path, draft) -> None:
    data = path.read_bytes()
    slow, size, mode, orientation = pillow_decode(data, draft)
    assert_same(decode_rgb(data, size, mode, orientation), slow)


def test_the_photos_take_several_draft_scales() -> None:
    """The cases above are not all full-size decodes: the draft really shrinks them."""
    data = (DATA / "photos" / "astronaut.jpg").read_bytes()
    sizes = {pillow_decode(data, draft)[1] for draft in [None, (160, 120), (64, 48)]}
    assert len(sizes) == 3


def test_upright_exif_decodes_as_pillow_does() -> None:
    exif = Image.Exif()
    exif[0x0112] = 1
    data = jpeg(Image.open(DATA / "photos" / "coffee.jpg"), quality=95, exif=exif)
    slow, size, mode, orientation = pillow_decode(data, (300, 300))
    assert orientation == 1
    assert_same(decode_rgb(data, size, mode, orientation), slow)


@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_turned_photo_is_left_to_pillow(orientation) -> None:
    """Pillow turns it a strip at a time; a whole second array here would hold more memory than is counted."""
    data = (DATA / "photos" / "coffee.jpg").read_bytes()
    assert decode_rgb(data, (600, 400), "RGB", orientation) is None


def test_greyscale_becomes_rgb_as_pillow_does() -> None:
    grey = Image.open(DATA / "photos" / "coffee.jpg").convert("L")
    data = jpeg(grey, quality=90)
    slow, size, mode, orientation = pillow_decode(data, None)
    assert mode == "L"
    assert_same(decode_rgb(data, size, mode, orientation), slow)


def test_cmyk_is_left_to_pillow() -> None:
    data = jpeg(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), quality=95)
    assert decode_rgb(data, (16, 16), "CMYK", 1) is None


def test_damaged_data_is_left_to_pillow() -> None:
    data = (DATA / "photos" / "coffee.jpg").read_bytes()
    assert decode_rgb(data[: len(data) // 2], (600, 400), "RGB", 1) is None
    assert decode_rgb(b"\xff\xd8 not a jpeg", (600, 400), "RGB", 1) is None


def test_a_size_pillow_would_not_decode_is_left_to_pillow() -> None:
    data = (DATA / "photos" / "coffee.jpg").read_bytes()
    assert decode_rgb(data, (599, 400), "RGB", 1) is None  # libjpeg would pick 600x400: not what was asked


@pytest.mark.parametrize("target", [None, (416, 416), (160, 160)], ids=str)
def test_decode_image_takes_the_fast_path_with_pillows_result(monkeypatch, target) -> None:
    from inference import image_decoding

    data = (DATA / "photos" / "astronaut.jpg").read_bytes()
    answers = []
    monkeypatch.setattr(image_decoding, "decode_rgb", lambda *args: answers.append(decode_rgb(*args)) or answers[-1])
    fast = image_decoding.decode_image(data, target_size=target)
    assert answers and answers[0] is not None  # simplejpeg decoded it
    monkeypatch.setattr(image_decoding, "decode_rgb", lambda *args: None)  # Pillow's path
    slow = image_decoding.decode_image(data, target_size=target)
    assert fast.original_size == slow.original_size
    assert_same(fast.pixels, slow.pixels)
