"""The worst requests we can build stay within their bounds on the Procfile's gunicorn: a quick 4xx or a bounded
answer, the worker alive, its peak memory (VmHWM) under the limit docs/deploy.md states."""

from __future__ import annotations

import base64
import io
import json
import re
import time

import numpy as np
import pytest
import requests
from PIL import Image

from tools.decode_worst_cases import (
    WORST_CASES,
    bilevel_png,
    largest_accepted,
    palette_gif,
    palette_trns_png,
    progressive_jpeg,
    webp_lossy,
)
from tools.servers import ROOT, gunicorn_server, memory_mib, wait_workers_serving, worker_pids
from webapp.config import from_environment

pytestmark = pytest.mark.server

DEPLOY_DOC = (ROOT / "docs" / "deploy.md").read_text()
ANSWER_LIMIT_S = 10.0
# A full batch of the largest images is 16 decodes for the model and 16 for the annotation: bounded, not quick.
BATCH = "16 palette PNGs with transparency, 40 MP each, annotated"
BATCH_ANSWER_LIMIT_S = 90.0
SOS = b"\xff\xda"


def documented_peak_mib() -> int:
    """The per-worker peak memory docs/deploy.md promises with the default limits."""
    found = re.search(r"peak memory of a worker stays under \*\*(\d+) MiB\*\*", DEPLOY_DOC)
    assert found, "docs/deploy.md must state the worker's peak memory bound"
    return int(found.group(1))


def documented_decode_mib() -> int:
    """What docs/deploy.md says decoding any accepted image adds to a process."""
    found = re.search(r"adds at most \*\*(\d+) MiB\*\*", DEPLOY_DOC)
    assert found, "docs/deploy.md must state the decode's memory bound"
    return int(found.group(1))


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment up to EOI; a scan's segment includes its entropy-coded data."""
    pos, segments = 2, []
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xD9:
            return [*segments, (marker, pos, pos + 2)]
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not a stuffed 0xFF or a restart
            while data[(end := data.index(b"\xff", end)) + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                end += 2
        segments.append((marker, pos, end))
        pos = end
    return segments


def scan_bomb(side: int = 2048, repeats: int = 60_000) -> bytes:
    """A valid progressive JPEG of a smooth image with its smallest scan repeated: a few bytes each, yet each
    one is a pass over every block of the image."""
    gradient = np.linspace(0, 255, side, dtype=np.uint8)
    pixels = np.stack(
        [np.tile(gradient, (side, 1)), np.tile(gradient[:, None], (1, side)), np.full((side, side), 128, np.uint8)],
        axis=2,
    )
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90, progressive=True)
    data = out.getvalue()
    segments = jpeg_segments(data)
    _, start, end = min((s for s in segments if s[0] == 0xDA), key=lambda s: s[2] - s[1])
    eoi = segments[-1][1]
    return data[:eoi] + data[start:end] * repeats + data[eoi:]


def noisy_jpeg(side: int, seed: int, quality: int = 92) -> bytes:
    """Random pixels: as large a JPEG as that many pixels make, and a large annotated copy."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=quality)
    return out.getvalue()


def rgba16_png(width: int, height: int) -> bytes:
    """A flat 16-bit RGBA PNG: a few hundred KB for tens of megapixels."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([16, 6, 0, 0, 0])
    row = b"\x00" + b"\x12\x34" * 4 * width
    pixels = zlib.compress(row * height, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def flat_png(width: int, height: int) -> bytes:
    """A flat 8-bit RGB PNG of the largest size the pixel limit allows: small to send, the full decode to do."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 150)).save(out, "PNG", compress_level=9)
    return out.getvalue()


def spaced_base64(image: bytes, characters: int) -> str:
    """About `characters` of base64 with a space after every character (the tolerant path's worst case); the image
    is padded after its end marker (decoders ignore that) to reach the size."""
    padded = image + b"\0" * max(0, characters * 3 // 8 - len(image))
    return " ".join(base64.b64encode(padded).decode("ascii"))


def annotated(*images: bytes) -> dict:
    return {"files": [("image", (f"{n}.img", image)) for n, image in enumerate(images)], "data": {"annotate": "true"}}


@pytest.fixture(scope="module")
def server():
    with gunicorn_server(workers=1) as running:
        wait_workers_serving(running)
        yield running


def post(server, **kwargs) -> tuple[float, requests.Response]:
    started = time.monotonic()
    answer = requests.post(server.url + "/api/predict", timeout=60, **kwargs)
    return time.monotonic() - started, answer


def worker_peak(server) -> tuple[int, float]:
    (pid,) = worker_pids(server.process.pid)
    return pid, memory_mib(pid, "VmHWM")


CASES = {
    "scan bomb": lambda: {"files": {"image": ("bomb.jpg", scan_bomb(), "image/jpeg")}},
    "16-bit RGBA PNG, 40 MP": lambda: {"files": {"image": ("big.png", rgba16_png(8000, 5000), "image/png")}},
    "spaced base64, 19 MB": lambda: {
        "data": json.dumps({"requests": [{"image": {"content": spaced_base64(noisy_jpeg(1200, 1), 19_000_000)}}]}),
        "headers": {"Content-Type": "application/json"},
    },
    "annotate 7 noisy JPEGs": lambda: {
        "files": [("image", (f"{n}.jpg", noisy_jpeg(1700, n), "image/jpeg")) for n in range(7)],
        "data": {"annotate": "true"},
    },
    "flat PNG at the pixel limit, annotated": lambda: {
        "files": {"image": ("flat.png", flat_png(8000, 5000))},
        "data": {"annotate": "true"},
    },
    "palette PNG with transparency, 40 MP, annotated": lambda: annotated(palette_trns_png(8000, 5000)),
    "1-bit PNG, 40 MP, annotated": lambda: annotated(bilevel_png(8000, 5000)),
    "palette GIF with transparency, 40 MP, annotated": lambda: annotated(palette_gif(8000, 5000)),
    "WebP, 40 MP (refused)": lambda: annotated(webp_lossy(8000, 5000)),
    "WebP, the largest accepted (19.6 MP), annotated": lambda: annotated(webp_lossy(5600, 3500)),
    "progressive 4:4:4 JPEG, 144 MP (refused)": lambda: annotated(progressive_jpeg(12000, 12000)),
    BATCH: lambda: annotated(*[palette_trns_png(8000, 5000)] * from_environment()["MAX_BATCH"]),
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", CASES)
def test_worst_requests_get_a_quick_bounded_answer_within_the_memory_bound(server, case):
    request = CASES[case]()
    files = request.get("files", {})
    files = files if isinstance(files, list) else list(files.items())
    body = request.get("data")
    size = sum(len(upload[1]) for _, upload in files) + (len(body) if isinstance(body, str) else 0)
    pid, _ = worker_peak(server)
    seconds, answer = post(server, **request)
    _, peak = worker_peak(server)
    print(
        f"\n{case}: {size / 1e6:.1f} MB sent, {answer.status_code} in {seconds:.2f} s, answer "
        f"{len(answer.content) / 1e6:.2f} MB, worker peak {peak:.0f} MiB"
    )
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.status_code in (200, 413, 422), answer.text[:300]
    assert seconds < (BATCH_ANSWER_LIMIT_S if case == BATCH else ANSWER_LIMIT_S)
    assert worker_pids(server.process.pid) == [pid], "the worker died"
    assert peak < documented_peak_mib()


# The largest target a decode is given in the service: the annotation's (the model inputs are smaller).
ANNOTATE_TARGET = (from_environment()["ANNOTATE_MAX_SIDE"],) * 2
# Where the search for the largest accepted image starts: the pixel limit's 8000x5000, smaller for the slow encoders.
SEARCH_FROM = {name: (6400, 4000) for name in WORST_CASES if "WebP" in name}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", WORST_CASES)
def test_the_largest_accepted_image_of_every_kind_decodes_within_the_documented_memory(case):
    """Each format and mode at the pixel limit (or the largest size its memory weight lets through), decoded in a
    fresh process: what the decode adds to the process's peak (VmHWM) stays under the bound docs/deploy.md
    states, so a worker stays under its own."""
    width, height = SEARCH_FROM.get(case, (8000, 5000))
    width, height, data, outcome = largest_accepted(WORST_CASES[case], width, height, ANNOTATE_TARGET)
    print(
        f"\n{case}: {width}x{height} ({len(data) / 1e3:.0f} KB) decoded to {outcome['size']}, "
        f"+{outcome['growth_mib']:.0f} MiB, peak {outcome['peak_mib']:.0f} MiB"
    )
    assert width * height >= 9_000_000  # a large decode, not a refusal shrunk to nothing
    assert outcome["growth_mib"] < documented_decode_mib()
