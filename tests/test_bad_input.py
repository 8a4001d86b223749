"""Bad and borderline input through the Flask test client: the right 4xx, a useful message, never a 5xx."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import orjson
import pytest
import requests
from PIL import Image
from werkzeug.test import EnvironBuilder, run_wsgi_app

from tools.decode_worst_cases import palette_trns_png, png_chunk, progressive_jpeg, raw_png, webp_lossless
from tools.servers import gunicorn_server, worker_pids
from webapp import config as config_module

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"
DEFAULT_MAX_BATCH = 16


# ---- inputs, built in memory ----------------------------------------------------------------------


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode("ascii")


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    """A Pillow image as file bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@cache
def small_jpeg() -> bytes:
    """A valid 64x64 JPEG (cheap to predict on)."""
    return encode(Image.new("RGB", (64, 64), (120, 80, 40)), "JPEG")


@cache
def photo(name: str = "astronaut.jpg") -> bytes:
    """A labelled photo's bytes."""
    return (PHOTOS / name).read_bytes()


def png_bomb(side: int = 10_000) -> bytes:
    """A real side x side 1-bit PNG of zeros: about 12 kB of file, side**2 pixels once decoded."""
    row = b"\x00" + bytes((side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def gif_bomb(side: int = 10_000) -> bytes:
    """A 1x1 GIF whose logical screen claims side x side pixels."""
    gif = bytearray(encode(Image.new("P", (1, 1)), "GIF"))
    gif[6:10] = struct.pack("<HH", side, side)
    return bytes(gif)


def animated_gif() -> bytes:
    """Three 64x64 frames; the first is used."""
    frames = [Image.new("P", (64, 64), colour) for colour in (10, 100, 200)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def png_16_bit() -> bytes:
    """A 16-bit greyscale PNG with values above 255."""
    image = Image.new("I;16", (64, 64))
    image.putdata([(x * 1000) % 65536 for x in range(64 * 64)])
    return encode(image, "PNG")


def cmyk_jpeg() -> bytes:
    """A CMYK JPEG, as print workflows write them."""
    return encode(Image.new("CMYK", (64, 64), (0, 100, 200, 10)), "JPEG")


def png_metadata_bomb() -> bytes:
    """A 64x64 PNG whose 43 KB zTXt comment decompresses to 40 MB."""
    comment = png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(bytes(40_000_000), 9))
    return raw_png(64, 64, 8, 2, b"\x10\x20\x30", extra=comment)


def jpeg_with_random_icc() -> bytes:
    """A single-scan JPEG whose 300 KB colour profile of random bytes holds "FF DA" more often than a JPEG may
    have scans."""
    icc = bytearray(np.random.default_rng(5).integers(0, 256, 300_000, dtype=np.uint8).tobytes())
    icc[1000::2500] = b"\xff" * len(icc[1000::2500])
    icc[1001::2500] = b"\xda" * len(icc[1001::2500])
    return encode(Image.open(PHOTOS / "coffee.jpg"), "JPEG", icc_profile=bytes(icc))


def blank_png(width: int, height: int) -> bytes:
    """A grey PNG of the given size."""
    return encode(Image.new("L", (width, height), 128), "PNG")


def one_image(content, features=None, **entry) -> dict:
    """The origin's request shape with one image entry."""
    item = {"image": {"content": content}, **entry}
    if features is not None:
        item["features"] = features
    return {"requests": [item]}


def raw_json(text: str | bytes) -> dict:
    """Test-client kwargs posting `text` verbatim as application/json."""
    return {"data": text.encode() if isinstance(text, str) else text, "content_type": "application/json"}


def as_json(document) -> dict:
    """Test-client kwargs posting a document serialised as JSON."""
    return raw_json(orjson.dumps(document))


def multipart(**fields) -> dict:
    """Test-client kwargs for multipart/form-data; a file is (bytes, filename, content type)."""
    data = {}
    for name, value in fields.items():
        if isinstance(value, list):
            data[name] = [(io.BytesIO(payload), filename, kind) for payload, filename, kind in value]
        elif isinstance(value, tuple):
            payload, filename, kind = value
            data[name] = (io.BytesIO(payload), filename, kind)
        else:
            data[name] = value
    return {"data": data, "content_type": "multipart/form-data"}


def jpeg_file(data: bytes | None = None, filename: str = "x.jpg") -> tuple[bytes, str, str]:
    """A multipart file part claiming to be a JPEG."""
    return (small_jpeg() if data is None else data, filename, "image/jpeg")


# ---- the cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One request and what the API must answer: status, error code and a fragment of the message."""

    name: str
    request: Callable[[], dict]  # test-client kwargs, built lazily
    status: int
    code: str | None = None  # None: a success with one result slot
    size: tuple[int, int] | None = None  # a success: the image's (width, height) the answer must report
    fragment: str = ""
    method: str = "POST"
    path: str = "/api/predict"


def good(features=None) -> Callable[[], dict]:
    """A valid one-image JSON request with the given features."""
    return lambda: as_json(one_image(b64(small_jpeg()), features))


GOOD_CONTENT = b64(small_jpeg())

CASES = [
    # Not JSON at all, or JSON that orjson refuses.
    Case("malformed_json", lambda: raw_json('{"requests": [}'), 400, "malformed_json", "not valid JSON"),
    Case(
        "truncated_json",
        lambda: raw_json('{"requests": [{"image": {"content": "QUJD'),
        400,
        "malformed_json",
        "not valid JSON",
    ),
    Case("empty_body", lambda: raw_json(b""), 400, "malformed_json", "not valid JSON"),
    Case("invalid_utf8", lambda: raw_json(b'{"requests": "\xff\xfe"}'), 400, "malformed_json", "UTF-8"),
    Case(
        "raw_nan",
        lambda: raw_json(
            f'{{"requests": [{{"image": {{"content": "{GOOD_CONTENT}"}}, "features": [{{"score_th": NaN}}]}}]}}'
        ),
        400,
        "malformed_json",
        "not valid JSON",
    ),
    Case(
        "number_overflowing_to_infinity",
        lambda: raw_json(
            f'{{"requests": [{{"image": {{"content": "{GOOD_CONTENT}"}}, "features": [{{"score_th": 1e400}}]}}]}}'
        ),
        400,
        "malformed_json",
        "infinity",
    ),
    Case(
        "huge_nesting",
        lambda: raw_json('{"requests": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        400,
        "malformed_json",
        "not valid JSON",
    ),
    # Wrong types at the top level.
    Case(
        "body_is_a_list",
        lambda: as_json([one_image(GOOD_CONTENT)]),
        400,
        "malformed_request",
        "must be a JSON object, got a list",
    ),
    Case("body_is_a_string", lambda: as_json("requests"), 400, "malformed_request", "got a string"),
    Case("body_is_a_number", lambda: as_json(42), 400, "malformed_request", "got a number"),
    Case("body_is_null", lambda: raw_json("null"), 400, "malformed_request", "got null"),
    Case("requests_missing", lambda: as_json({}), 400, "malformed_request", '"requests"'),
    Case(
        "image_at_top_level",
        lambda: as_json({"image": {"content": GOOD_CONTENT}}),
        422,
        "unknown_field",
        fragment="`image` goes in requests[]",
    ),
    Case(
        "requests_is_an_object",
        lambda: as_json({"requests": {"image": {"content": GOOD_CONTENT}}}),
        400,
        "malformed_request",
        "non-empty list",
    ),
    Case("requests_is_a_string", lambda: as_json({"requests": "all"}), 400, "malformed_request", "non-empty list"),
    Case("requests_is_empty", lambda: as_json({"requests": []}), 400, "malformed_request", "non-empty list"),
    # Wrong types inside an entry.
    Case(
        "entry_is_a_string",
        lambda: as_json({"requests": ["abc"]}),
        400,
        "malformed_request",
        "requests[0] must be an object, got a string",
    ),
    Case("entry_is_a_list", lambda: as_json({"requests": [[GOOD_CONTENT]]}), 400, "malformed_request", "got a list"),
    Case(
        "image_missing",
        lambda: as_json({"requests": [{"features": [{}]}]}),
        400,
        "malformed_request",
        "requests[0].image.content",
    ),
    Case(
        "image_is_a_string",
        lambda: as_json({"requests": [{"image": GOOD_CONTENT}]}),
        400,
        "malformed_request",
        "image.content must be a base64 string",
    ),
    Case("content_missing", lambda: as_json({"requests": [{"image": {}}]}), 400, "malformed_request", "image.content"),
    Case("content_is_a_number", lambda: as_json(one_image(12345)), 400, "malformed_request", "must be a base64 string"),
    Case("content_is_null", lambda: as_json(one_image(None)), 400, "malformed_request", "must be a base64 string"),
    Case(
        "content_is_a_list",
        lambda: as_json(one_image([GOOD_CONTENT])),
        400,
        "malformed_request",
        "must be a base64 string",
    ),
    Case(
        "features_is_an_object",
        lambda: as_json(one_image(GOOD_CONTENT, {"score_th": 0.5})),
        400,
        "malformed_request",
        "features must be a list, got an object",
    ),
    Case(
        "features_is_a_string",
        lambda: as_json(one_image(GOOD_CONTENT, "score_th=0.5")),
        400,
        "malformed_request",
        "features must be a list",
    ),
    Case(
        "features_0_is_a_string",
        lambda: as_json(one_image(GOOD_CONTENT, ["score_th"])),
        400,
        "malformed_request",
        "features[0] must be an object, got a string",
    ),
    Case(
        "features_0_is_a_number",
        lambda: as_json(one_image(GOOD_CONTENT, [0.5])),
        400,
        "malformed_request",
        "features[0] must be an object, got a number",
    ),
    # Parameters of the wrong type or out of range.
    Case("score_th_as_string", good([{"score_th": "0.5"}]), 422, "invalid_parameter", "score_th must be a number"),
    Case("nms_iou_as_bool", good([{"nms_iou": True}]), 422, "invalid_parameter", "nms_iou must be a number"),
    Case("min_height_as_list", good([{"min_height": [0.1]}]), 422, "invalid_parameter", "min_height must be a number"),
    Case(
        "max_results_as_string", good([{"maxResults": "10"}]), 422, "invalid_parameter", "maxResults must be a number"
    ),
    Case(
        "score_th_negative",
        good([{"score_th": -0.1}]),
        422,
        "invalid_parameter",
        "score_th must be between 0.0 and 1.0",
    ),
    Case("score_th_over_1", good([{"score_th": 1.5}]), 422, "invalid_parameter", "score_th must be between"),
    Case("nms_iou_over_1", good([{"nms_iou": 2}]), 422, "invalid_parameter", "nms_iou must be between"),
    Case(
        "max_results_1e9",
        good([{"maxResults": 1e9}]),
        422,
        "invalid_parameter",
        "maxResults must be between 0 and 1000",
    ),
    Case("max_results_negative", good([{"maxResults": -1}]), 422, "invalid_parameter", "maxResults must be between"),
    Case(
        "max_results_fractional",
        good([{"maxResults": 2.5}]),
        422,
        "invalid_parameter",
        "maxResults must be a whole number",
    ),
    Case(
        "max_results_huge_integer",
        good([{"maxResults": 10**18}]),
        422,
        "invalid_parameter",
        "maxResults must be between",
    ),
    Case("annotate_as_string", good([{"annotate": "yes"}]), 422, "invalid_parameter", "annotate must be true or false"),
    Case("classes_empty", good([{"classes": []}]), 422, "invalid_parameter", "classes must be a non-empty list"),
    Case("classes_unknown_name", good([{"classes": ["unicorn"]}]), 422, "invalid_parameter", "unknown class 'unicorn'"),
    Case(
        "classes_holds_a_float",
        good([{"classes": [1.5]}]),
        422,
        "invalid_parameter",
        "classes must hold class names or ids",
    ),
    # Base64 that is not.
    Case("base64_bad_padding", lambda: as_json(one_image("QUJD=A==")), 422, "invalid_base64", "not base64"),
    Case(
        "base64_invalid_characters",
        lambda: as_json(one_image("!!!!" + GOOD_CONTENT)),
        422,
        "invalid_base64",
        "not base64",
    ),
    Case(
        "base64_impossible_length", lambda: as_json(one_image("QUJDR")), 422, "invalid_base64", "length is impossible"
    ),
    Case("base64_non_ascii", lambda: as_json(one_image("ÄÖÜ" + GOOD_CONTENT)), 422, "invalid_base64", "non-ASCII"),
    Case(
        "base64_unknown_data_url_prefix",
        lambda: as_json(one_image("data:image/jpeg;charset=x y;base64," + GOOD_CONTENT)),
        422,
        "invalid_base64",
        "not base64",
    ),
    Case(
        "base64_data_url_prefix_is_accepted", lambda: as_json(one_image("data:image/jpeg;base64," + GOOD_CONTENT)), 200
    ),
    Case(
        "base64_with_line_breaks_is_accepted",
        lambda: as_json(one_image(base64.encodebytes(small_jpeg()).decode())),
        200,
    ),
    Case("base64_without_padding_is_accepted", lambda: as_json(one_image(GOOD_CONTENT.rstrip("="))), 200),
    # Bytes that are not a usable image.
    Case("zero_bytes", lambda: as_json(one_image("")), 422, "empty_image", "0 bytes"),
    Case(
        "text_as_image",
        lambda: as_json(one_image(b64(b"hello, I am a JPEG, honestly"))),
        422,
        "unsupported_image",
        "not an image",
    ),
    Case(
        "pdf_as_image",
        lambda: as_json(one_image(b64(b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF"))),
        422,
        "unsupported_image",
        "not an image",
    ),
    Case(
        "truncated_jpeg",
        lambda: as_json(one_image(b64(photo()[: len(photo()) // 2]))),
        422,
        "corrupt_image",
        "truncated",
    ),
    Case("jpeg_header_only", lambda: as_json(one_image(b64(photo()[:200]))), 422, "corrupt_image", "damaged"),
    Case(
        "side_30000x1",
        lambda: as_json(one_image(b64(blank_png(30_000, 1)))),
        422,
        "image_too_large",
        "longest side allowed is 12000",
    ),
    Case(
        "png_decompression_bomb",
        lambda: as_json(one_image(b64(png_bomb()))),
        422,
        "image_too_large",
        "100000000 pixels; the limit is 40000000",
    ),
    Case(
        "gif_decompression_bomb",
        lambda: as_json(one_image(b64(gif_bomb()))),
        422,
        "image_too_large",
        "the limit is 40000000",
    ),
    Case("image_1x1_is_accepted", lambda: as_json(one_image(b64(blank_png(1, 1)))), 200, size=(1, 1)),
    Case("animated_gif_is_accepted", lambda: as_json(one_image(b64(animated_gif()))), 200, size=(64, 64)),
    Case("png_16_bit_is_accepted", lambda: as_json(one_image(b64(png_16_bit()))), 200, size=(64, 64)),
    Case("cmyk_jpeg_is_accepted", lambda: as_json(one_image(b64(cmyk_jpeg()))), 200, size=(64, 64)),
    Case(
        "png_metadata_bomb",
        lambda: as_json(one_image(b64(png_metadata_bomb()))),
        422,
        "image_too_large",
        "metadata (text or colour-profile chunks) is too large",
    ),
    Case(
        "jpeg_with_ff_da_in_its_colour_profile_is_accepted",
        lambda: as_json(one_image(b64(jpeg_with_random_icc()))),
        200,
        size=(600, 400),
    ),
    Case(
        "palette_png_with_transparency_at_the_pixel_limit_is_accepted",
        lambda: multipart(image=jpeg_file(palette_trns_png(8000, 5000), "p.png")),
        200,
        size=(8000, 5000),
    ),
    Case(
        "webp_over_its_share_of_the_memory",
        lambda: multipart(image=jpeg_file(webp_lossless(7000, 4000), "w.webp")),
        422,
        "image_too_large",
        "WEBP of mode RGBA, whose decoding holds 213.6 MiB, where",
    ),
    Case(
        "progressive_jpeg_whose_coefficients_are_too_large",
        lambda: multipart(image=jpeg_file(progressive_jpeg(8000, 5000))),
        422,
        "image_too_large",
        "coefficients",
    ),
    # Multipart forms.
    Case(
        "multipart_without_file", lambda: multipart(score_th="0.5"), 400, "missing_image", 'no file field named "image"'
    ),
    Case("multipart_image_as_text_field", lambda: multipart(image=GOOD_CONTENT), 400, "missing_image", "no file field"),
    Case(
        "multipart_text_as_jpeg",
        lambda: multipart(image=jpeg_file(b"just some text")),
        422,
        "unsupported_image",
        "not an image",
    ),
    Case(
        "multipart_pdf_as_jpeg",
        lambda: multipart(image=jpeg_file(b"%PDF-1.7\n%%EOF")),
        422,
        "unsupported_image",
        "not an image",
    ),
    Case("multipart_empty_file", lambda: multipart(image=jpeg_file(b"")), 422, "empty_image", "0 bytes"),
    Case(
        "multipart_nan_threshold",
        lambda: multipart(image=jpeg_file(), score_th="nan"),
        422,
        "invalid_parameter",
        "finite",
    ),
    Case(
        "multipart_word_threshold",
        lambda: multipart(image=jpeg_file(), score_th="high"),
        422,
        "invalid_parameter",
        "score_th must be a number",
    ),
    Case(
        "multipart_max_results_1e9",
        lambda: multipart(image=jpeg_file(), maxResults="1e9"),
        422,
        "invalid_parameter",
        "maxResults must be between",
    ),
    Case(
        "multipart_annotate_maybe",
        lambda: multipart(image=jpeg_file(), annotate="maybe"),
        422,
        "invalid_parameter",
        "annotate must be true or false",
    ),
    Case(
        "multipart_too_many_files",
        lambda: multipart(image=[jpeg_file()] * (DEFAULT_MAX_BATCH + 1)),
        413,
        "batch_too_large",
        "the limit is 16",
    ),
    # Wrong or missing content types.
    Case(
        "text_plain",
        lambda: {"data": orjson.dumps(one_image(GOOD_CONTENT)), "content_type": "text/plain"},
        415,
        "unsupported_media_type",
        "not text/plain",
    ),
    Case(
        "application_xml",
        lambda: {"data": b"<requests/>", "content_type": "application/xml"},
        415,
        "unsupported_media_type",
        "application/xml",
    ),
    Case(
        "no_content_type",
        lambda: {"data": orjson.dumps(one_image(GOOD_CONTENT))},
        415,
        "unsupported_media_type",
        "without Content-Type",
    ),
    Case("urlencoded_form", lambda: {"data": {"image": GOOD_CONTENT}}, 400, "missing_image", "image_sha256"),
    # Batches, methods, paths.
    Case(
        "batch_over_the_limit",
        lambda: as_json({"requests": one_image(GOOD_CONTENT)["requests"] * (DEFAULT_MAX_BATCH + 1)}),
        413,
        "batch_too_large",
        "17 images in one request; the limit is 16",
    ),
    Case("get_on_predict", dict, 405, "method_not_allowed", "", method="GET"),
    Case("post_on_model_info", lambda: as_json({}), 405, "method_not_allowed", "", path="/api/model"),
    Case("unknown_api_path", dict, 404, "not_found", "", method="GET", path="/api/predictions"),
]


def test_there_are_at_least_40_distinct_cases():
    assert len({case.name for case in CASES}) == len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_gets_its_status_code_and_message(client, case: Case):
    response = client.open(case.path, method=case.method, **case.request())
    assert response.status_code == case.status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()
    if case.code is None:
        assert "error" not in body and "error" not in body["responses"][0]
        assert isinstance(body["responses"][0]["detections"], list)
        if case.size:
            image = body["responses"][0]["image"]
            assert (image["width"], image["height"]) == case.size
        return
    error = body["error"]
    assert error["status"] == case.status
    assert error["code"] == case.code
    assert case.fragment in error["message"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_bad_entry_fails_alone_in_a_batch(client):
    document = {"requests": [one_image(GOOD_CONTENT)["requests"][0], {"image": {"content": "!!!!"}}, {"image": "x"}]}
    response = client.post("/api/predict", **as_json(document))
    assert response.status_code == 200
    slots = response.get_json()["responses"]
    assert "detections" in slots[0]
    assert slots[1]["error"]["code"] == "invalid_base64" and "requests[1]" in slots[1]["error"]["message"]
    assert slots[2]["error"]["code"] == "malformed_request" and "requests[2]" in slots[2]["error"]["message"]


def test_the_origin_root_url_answers_bad_input_the_same_way(client):
    response = client.post("/", **raw_json('{"requests": [}'))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


# ---- configured limits ----------------------------------------------------------------------------


@pytest.fixture()
def limits(app, monkeypatch):
    """Set app.config limits for one test (the app reads them on every request)."""
    return lambda **values: [monkeypatch.setitem(app.config, name, value) for name, value in values.items()]


class EndlessBody(io.RawIOBase):
    """A request body that never ends, counting what the server read of it."""

    def __init__(self, chunk: bytes = b"a") -> None:
        self.bytes_read = 0
        self.chunk = chunk

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = (self.chunk * len(buffer))[: len(buffer)]
        self.bytes_read += len(buffer)
        return len(buffer)


def call_wsgi(app, content_type: str, body: io.RawIOBase, content_length: int | None) -> tuple[int, dict]:
    """Run the app on a raw WSGI environ, as gunicorn would for a chunked (no Content-Length) body."""
    environ = EnvironBuilder(path="/api/predict", method="POST", content_type=content_type).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    if content_length is None:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True  # what gunicorn sets: it de-chunks and ends the stream
    else:
        environ["CONTENT_LENGTH"] = str(content_length)
    environ["wsgi.input"] = io.BufferedReader(body)
    chunks, status, _headers = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0]), orjson.loads(b"".join(chunks))


def test_body_over_max_request_bytes_is_413_without_reading_it(app, limits):
    limits(MAX_CONTENT_LENGTH=10_000)
    body = EndlessBody()
    status, answer = call_wsgi(app, "application/json", body, content_length=50_000_000)
    assert (status, answer["error"]["code"]) == (413, "request_too_large")
    assert "at most 10000 bytes" in answer["error"]["message"]
    assert body.bytes_read == 0  # refused on the Content-Length header alone


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=xyz"])
def test_chunked_body_over_max_request_bytes_is_413_after_reading_about_the_limit(app, limits, content_type):
    limits(MAX_CONTENT_LENGTH=10_000)
    body = EndlessBody(b'{"requests": [' if content_type == "application/json" else b"--xyz\r\n")
    status, answer = call_wsgi(app, content_type, body, content_length=None)
    assert (status, answer["error"]["code"]) == (413, "request_too_large")
    assert body.bytes_read <= 10_000 + 64 * 1024  # the limit plus read-ahead buffers, not the endless body


def test_chunked_body_under_the_limit_is_served(app):
    payload = orjson.dumps(one_image(GOOD_CONTENT))
    status, answer = call_wsgi(app, "application/json", io.BytesIO(payload), content_length=None)
    assert status == 200 and "detections" in answer["responses"][0]


def test_max_image_pixels_is_422(client, limits):
    limits(MAX_IMAGE_PIXELS=10_000)
    response = client.post("/api/predict", **as_json(one_image(b64(blank_png(101, 100)))))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "image_too_large"
    assert "10100 pixels; the limit is 10000" in response.get_json()["error"]["message"]
    assert client.post("/api/predict", **as_json(one_image(b64(blank_png(100, 100))))).status_code == 200


def test_max_image_side_is_422(client, limits):
    limits(MAX_IMAGE_SIDE=500)
    response = client.post("/api/predict", **as_json(one_image(b64(blank_png(501, 10)))))
    assert response.status_code == 422
    assert "the longest side allowed is 500" in response.get_json()["error"]["message"]
    assert client.post("/api/predict", **as_json(one_image(b64(blank_png(500, 10))))).status_code == 200


def test_max_batch_is_413_for_json_and_multipart(client, limits):
    limits(MAX_BATCH=2)
    three = as_json({"requests": one_image(GOOD_CONTENT)["requests"] * 3})
    assert client.post("/api/predict", **three).get_json()["error"]["code"] == "batch_too_large"
    response = client.post("/api/predict", **multipart(image=[jpeg_file()] * 3))
    assert response.status_code == 413
    assert "3 images in one request; the limit is 2" in response.get_json()["error"]["message"]
    assert (
        client.post("/api/predict", **as_json({"requests": one_image(GOOD_CONTENT)["requests"] * 2})).status_code == 200
    )


def test_limits_come_from_the_environment(monkeypatch):
    for name, value in {
        "MAX_REQUEST_BYTES": "1234",
        "MAX_IMAGE_PIXELS": "5678",
        "MAX_IMAGE_SIDE": "90",
        "MAX_BATCH": "3",
    }.items():
        monkeypatch.setenv(name, value)
    settings = config_module.from_environment()
    assert settings["MAX_CONTENT_LENGTH"] == 1234  # Flask's name for the body limit
    assert (settings["MAX_IMAGE_PIXELS"], settings["MAX_IMAGE_SIDE"], settings["MAX_BATCH"]) == (5678, 90, 3)


def test_limit_defaults(monkeypatch):
    """Unset, the limits are their one declaration's: the settings table's, the image limits inference owns."""
    from inference.image_decoding import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE
    from serving.settings import SETTINGS_BY_NAME

    for name in ("MAX_REQUEST_BYTES", "MAX_IMAGE_PIXELS", "MAX_IMAGE_SIDE", "MAX_BATCH"):
        monkeypatch.delenv(name, raising=False)
    settings = config_module.from_environment()
    assert settings["MAX_CONTENT_LENGTH"] == SETTINGS_BY_NAME["MAX_REQUEST_BYTES"].default
    assert (settings["MAX_IMAGE_PIXELS"], settings["MAX_IMAGE_SIDE"]) == (DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE)
    assert settings["MAX_BATCH"] == DEFAULT_MAX_BATCH


@pytest.mark.server
def test_gunicorn_refuses_a_chunked_body_over_the_limit():
    def endless_json():
        yield b'{"requests": ['
        for _ in range(200):
            yield b'{"image": {"content": "' + b"A" * 10_000 + b'"}},'

    with gunicorn_server(env={"MAX_REQUEST_BYTES": "100000"}, workers=1) as server:
        too_big = requests.post(
            server.url + "/api/predict", data=endless_json(), timeout=30, headers={"Content-Type": "application/json"}
        )
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "request_too_large"
        small = iter([orjson.dumps(one_image(GOOD_CONTENT))])
        served = requests.post(
            server.url + "/api/predict", data=small, timeout=30, headers={"Content-Type": "application/json"}
        )
        assert served.status_code == 200, served.text


# ---- and afterwards the server is fine ------------------------------------------------------------


def test_after_all_that_a_good_request_is_answered_correctly(client):
    response = client.post("/api/predict", **as_json(one_image(b64(photo("astronaut.jpg")), [{"score_th": 0.35}])))
    assert response.status_code == 200
    labels = [detection["class_name"] for detection in response.get_json()["responses"][0]["detections"]]
    assert "person" in labels


# ---- the same cases against real gunicorn workers ---------------------------------------------------


def wire_request(case: Case) -> tuple[dict[str, str], bytes]:
    """The headers and body bytes the test client would send for a case, to replay over HTTP."""
    builder = EnvironBuilder(path=case.path, method=case.method, **case.request())
    try:
        environ = builder.get_environ()
        body = environ["wsgi.input"].read()
        headers = {"Content-Type": environ["CONTENT_TYPE"]} if environ.get("CONTENT_TYPE") else {}
        return headers, body
    finally:
        builder.close()


@pytest.mark.server
def test_every_case_over_http_leaves_the_gunicorn_workers_alive_and_answering():
    with gunicorn_server(workers=2) as server, requests.Session() as session:
        workers_before = worker_pids(server.process.pid)
        for case in CASES:
            headers, body = wire_request(case)
            response = session.request(case.method, server.url + case.path, data=body, headers=headers, timeout=60)
            assert response.status_code == case.status, f"{case.name}: {response.text[:300]}"
            assert response.headers["Content-Type"].startswith("application/json"), case.name
        good = session.post(server.url + "/api/predict", json=one_image(b64(photo("astronaut.jpg"))), timeout=60)
        assert good.status_code == 200
        assert "person" in [d["class_name"] for d in good.json()["responses"][0]["detections"]]
        assert worker_pids(server.process.pid) == workers_before  # no worker crashed or was restarted
        assert "Traceback" not in server.log()
