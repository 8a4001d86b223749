"""The page over a network: phone photos shrunk before upload, slider moves sent as the image's sha256, feedback.

Every POST the page makes is counted by its Content-Length as Chromium sent it; the images the page uploads are
captured by wrapping XMLHttpRequest.send in an init script.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image, ImageOps
from playwright.sync_api import Page

from tools.browser_helpers import boxes_drawn, open_page, page_params, wait_for_answer, watch_page
from tools.servers import ROOT, gunicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

ASTRONAUT = ROOT / "tests" / "data" / "photos" / "astronaut.jpg"
COFFEE = ROOT / "tests" / "data" / "photos" / "coffee.jpg"
ASTRONAUT_PERSON = (21, 15, 361, 511)  # tests/data/ground_truth.json, in astronaut.jpg's 512x512 pixels
SHRINK_JS = ROOT / "webapp" / "static" / "shrink.js"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
MAX_FIRST_POST = 1_000_000  # a 12 MP photo goes up in at most 1 MB
MAX_SLIDER_POST = 4_096  # and a slider move in at most 4 KB

# Keeps what the page uploads (the multipart "image" field) where the test can read it back.
CAPTURE_UPLOADS = """
window.__uploads = [];
const originalSend = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  if (body instanceof FormData && body.get("image")) window.__uploads.push(body.get("image"));
  return originalSend.call(this, body);
};
window.__spinnerTexts = [];
new MutationObserver(() => {
  const text = document.getElementById("spinner-text")?.textContent;
  if (text && window.__spinnerTexts.at(-1) !== text) window.__spinnerTexts.push(text);
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


@pytest.fixture(scope="module")
def server():
    """One real gunicorn worker (with its result cache) for the module."""
    with gunicorn_server(workers=1) as running:
        yield running


class Posts:
    """The page's POSTs to the API, as sent: Content-Length and, for small bodies, the body itself."""

    def __init__(self, page: Page) -> None:
        self.sent: list[dict] = []
        page.on("requestfinished", self._record)
        page.on("requestfailed", self._record)

    def _record(self, request) -> None:
        if request.method == "POST" and request.url.endswith("/api/predict"):
            length = int(request.all_headers().get("content-length", "0"))
            self.sent.append({"bytes": length, "body": request.post_data_buffer})  # None for file uploads

    def sizes(self) -> list[int]:
        return [post["bytes"] for post in self.sent]

    def settled(self, page: Page, count: int) -> list[dict]:
        """The POSTs once `count` have finished (their events may trail the page's own)."""
        for _ in range(100):
            if len(self.sent) >= count:
                break
            page.wait_for_timeout(50)
        page.wait_for_timeout(100)  # and nothing more comes
        return self.sent


def form_field(body: bytes, name: str) -> str:
    """A field's value in a multipart body."""
    found = re.search(rb'name="' + name.encode() + rb'"\r\n\r\n([^\r]*)', body)
    return found.group(1).decode() if found else ""


def upload_side(server) -> int:
    """The longest side the page should send: shrink.js's factor x the largest input side the server serves."""
    factor = float(re.search(r"export const SIDE_PER_INPUT_SIDE = ([0-9.]+);", SHRINK_JS.read_text()).group(1))
    models = requests.get(f"{server.url}/api/models", timeout=10).json()["models"]
    return round(factor * max(max(m["input_size"].values()) for m in models))


def open_network_page(browser, server) -> tuple[Page, Posts, object]:
    """A fresh tab on the page, recording POSTs, uploads and problems."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems = watch_page(page)
    page.add_init_script(CAPTURE_UPLOADS)
    posts = Posts(page)
    open_page(page, server.url)
    return page, posts, problems


@pytest.fixture()
def network_page(browser, server):
    page, posts, problems = open_network_page(browser, server)
    yield page, posts, problems
    page.context.close()


def phone_photo(path: Path, size: tuple[int, int], *, noise: float) -> tuple[float, float, float, float]:
    """An upright `size` photo with the astronaut on a wall, stored on its side with EXIF Orientation 6.

    `noise` (grey levels) makes the JPEG as large as a phone's. Returns the person's box in upright pixels.
    """
    width, height = size
    side = int(height * 0.6)
    left, top = int(width * 0.3), int(height * 0.25)
    gradient = np.linspace(90, 170, width, dtype=np.float32)[None, :, None]
    wall = np.broadcast_to(gradient, (height, width, 3))
    if noise:
        wall = wall + np.random.default_rng(0).normal(0, noise, (height, width, 3)).astype(np.float32)
    upright = Image.fromarray(np.clip(wall, 0, 255).astype(np.uint8))
    upright.paste(Image.open(ASTRONAUT).resize((side, side), Image.Resampling.BICUBIC), (left, top))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": stored turned the other way
    upright.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=90, exif=exif)
    scale = side / 512
    x1, y1, x2, y2 = ASTRONAUT_PERSON
    return left + x1 * scale, top + y1 * scale, left + x2 * scale, top + y2 * scale


@pytest.fixture(scope="module")
def photo_12mp(tmp_path_factory) -> tuple[Path, tuple]:
    path = tmp_path_factory.mktemp("photos") / "phone-12mp.jpg"
    return path, phone_photo(path, (4000, 3000), noise=6)


def downloaded_json(page: Page) -> dict:
    with page.expect_download() as download:
        page.click("#download-json")
    return json.loads(Path(download.value.path()).read_text())


def last_upload(page: Page) -> bytes:
    """The bytes of the last image the page uploaded."""
    data_url = page.evaluate(
        """() => new Promise((resolve) => {
          const reader = new FileReader();
          reader.onload = () => resolve(reader.result);
          reader.readAsDataURL(window.__uploads.at(-1));
        })"""
    )
    return base64.b64decode(data_url.split(",", 1)[1])


def person(body: dict) -> list[float]:
    """The best person box of a response (or of the page's JSON download)."""
    slot = body["responses"][0]
    return next(d["box"] for d in slot["detections"] if d["class_name"] == "person")


def iou(a, b) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def largest_difference(a, b, size: tuple[int, int]) -> float:
    """The largest difference of a box edge, as a fraction of the image's width (x) or height (y)."""
    w, h = size
    return max(abs(a[0] - b[0]) / w, abs(a[1] - b[1]) / h, abs(a[2] - b[2]) / w, abs(a[3] - b[3]) / h)


def api(server, data: dict, files: dict | None = None) -> dict:
    response = requests.post(f"{server.url}/api/predict", data=data, files=files, timeout=60)
    response.raise_for_status()
    return response.json()


def serious_accessibility_problems(page: Page) -> list[str]:
    """axe-core's (tests/vendor) serious and critical violations on the page as it is now."""
    page.evaluate(AXE.read_text())  # evaluated by DevTools, so the page's CSP does not apply
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']} {v['id']}: {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_12mp_photo_goes_up_shrunk_once_and_slider_moves_send_only_its_hash(network_page, server, photo_12mp):
    """One POST under 1 MB with upload progress; boxes on the person in the original's pixels; a slider move
    sends < 4 KB without the image, and the page shows what the API answers for that hash."""
    page, posts, problems = network_page
    path, person_box = photo_12mp
    assert path.stat().st_size > 2 * MAX_FIRST_POST  # phone-sized: sending it as it is would fail this test
    cdp = page.context.new_cdp_session(page)  # a slow uplink, so that the upload takes long enough to show progress
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "uploadThroughput": 250_000, "downloadThroughput": -1},
    )
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "uploadThroughput": -1, "downloadThroughput": -1},
    )

    assert len(posts.settled(page, 1)) == 1 and posts.sizes()[0] <= MAX_FIRST_POST, posts.sizes()
    assert any(text.startswith("Sending ") for text in page.evaluate("window.__spinnerTexts"))
    side = upload_side(server)
    with Image.open(io.BytesIO(last_upload(page))) as sent:
        assert (sent.format, sent.size) == ("JPEG", (side, round(side * 0.75)))  # upright, as long as the page says
    body = downloaded_json(page)
    assert body["responses"][0]["image"] == {"width": 4000, "height": 3000}
    assert body["responses"][0]["sent_image"]["width"] == side
    assert iou(person(body), person_box) > 0.75, (person(body), person_box)
    on_original = api(
        server, page_params(page), {"image": (path.name, path.read_bytes())}
    )  # the server decodes the 12 MP file
    assert largest_difference(person(body), person(on_original), (4000, 3000)) < 0.02
    transfer = page.text_content("#transfer")
    assert (
        "network" in transfer
        and "server" in transfer
        and f"{side}×{round(side * 0.75)} copy of the 4000×3000" in transfer
    )

    page.fill("#score_th", "0.6")
    assert wait_for_answer(page) == "done"
    assert len(posts.settled(page, 2)) == 2 and posts.sizes()[1] <= MAX_SLIDER_POST, posts.sizes()
    slider_body = posts.sent[1]["body"]
    assert b'name="image_sha256"' in slider_body and b"filename=" not in slider_body
    sha256 = hashlib.sha256(last_upload(page)).hexdigest()
    assert sha256.encode() in slider_body
    by_hash = api(server, {**page_params(page), "image_sha256": sha256})
    assert boxes_drawn(page) == len(by_hash["responses"][0]["detections"]) >= 1
    assert "the server still had the image" in page.text_content("#transfer")
    assert problems.page_errors == [] and problems.dialogs == []


def test_the_browser_shrinks_as_the_accuracy_tool_assumes(network_page, server, photo_12mp):
    """tools/measure_upload_shrink.py emulates Chrome's resize with Pillow's bilinear: pixels and boxes agree."""
    page, _, _ = network_page
    path, _ = photo_12mp
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    from_browser = last_upload(page)
    with Image.open(io.BytesIO(from_browser)) as sent:
        browser_pixels = np.asarray(sent.convert("RGB"), np.float32)
        size = sent.size
    with Image.open(path) as original:
        emulated = ImageOps.exif_transpose(original).convert("RGB").resize(size, Image.Resampling.BILINEAR)
    assert np.abs(browser_pixels - np.asarray(emulated, np.float32)).mean() < 2.0
    out = io.BytesIO()
    emulated.save(out, "JPEG", quality=90)
    params = page_params(page)
    browser_box = person(api(server, params, {"image": ("b.jpg", from_browser)}))
    emulated_box = person(api(server, params, {"image": ("e.jpg", out.getvalue())}))
    assert largest_difference(browser_box, emulated_box, size) < 0.01


def test_48mp_photo_works(network_page, tmp_path):
    """8000x6000 on its side with EXIF rotation: sent small, boxes on the person in the original's pixels."""
    page, posts, _ = network_page
    path = tmp_path / "phone-48mp.jpg"
    person_box = phone_photo(path, (8000, 6000), noise=0)
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    assert len(posts.settled(page, 1)) == 1 and posts.sizes()[0] <= MAX_FIRST_POST, posts.sizes()
    body = downloaded_json(page)
    assert body["responses"][0]["image"] == {"width": 8000, "height": 6000}
    assert iou(person(body), person_box) > 0.75, (person(body), person_box)
    natural = "[document.getElementById('photo').naturalWidth, document.getElementById('photo').naturalHeight]"
    assert page.evaluate(natural) == [8000, 6000]


def test_annotated_download_is_drawn_on_the_full_resolution_original(network_page, tmp_path):
    """A 3 MP photo is sent shrunk, but the downloaded image is the original's size with the box where it belongs."""
    page, _posts, _ = network_page
    path = tmp_path / "phone-3mp.jpg"
    person_box = phone_photo(path, (2000, 1500), noise=0)
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    with page.expect_download() as download:
        page.click("#download-image")
    box = person(downloaded_json(page))
    with Image.open(download.value.path()) as annotated:
        assert annotated.size == (2000, 1500)
        pixels = np.asarray(annotated.convert("RGB"), np.int16)
    with Image.open(path) as original:
        plain = np.asarray(ImageOps.exif_transpose(original).convert("RGB"), np.int16)
    x1, y1, x2, y2 = (round(v) for v in box)
    middle = (y1 + y2) // 2
    changed = np.abs(pixels - plain).max(axis=2) > 60  # the box's stroke, where the JPEG noise is far smaller
    assert changed[middle, max(0, x1 - 3) : x1 + 4].any() and changed[middle, x2 - 4 : x2 + 3].any()
    assert not changed[middle, (x1 + x2) // 2]
    assert iou(box, person_box) > 0.75


def test_an_evicted_image_is_sent_again_transparently(browser):
    """With the server's cache off every hash is unknown: the slider move's hash gets image_not_cached, and the
    page sends the bytes once more, with no error shown."""
    with gunicorn_server(env={"CACHE_BYTES": "0"}, workers=1) as no_cache:
        page, posts, problems = open_network_page(browser, no_cache)
        page.set_input_files("#file-input", str(COFFEE))
        assert wait_for_answer(page) == "done"
        page.fill("#score_th", "0.2")
        assert wait_for_answer(page) == "done"
        sent = posts.settled(page, 3)
        kinds = ["hash" if post["body"] and b'name="image_sha256"' in post["body"] else "bytes" for post in sent]
        assert kinds == ["bytes", "hash", "bytes"]
        expected = api(no_cache, page_params(page), {"image": (COFFEE.name, COFFEE.read_bytes())})
        assert boxes_drawn(page) == len(expected["responses"][0]["detections"])
        assert page.locator("#message").is_hidden() and problems.page_errors == []
        page.context.close()


def test_an_error_keeps_the_previous_result_and_retry_asks_again(network_page):
    """The server unreachable on a slider move: the boxes and table stay (greyed), an error and Retry show; once
    the server is back, Retry brings the answer for the current settings."""
    page, _posts, _ = network_page
    page.fill("#score_th", "0.2")
    page.set_input_files("#file-input", str(COFFEE))
    assert wait_for_answer(page) == "done"
    before = boxes_drawn(page)
    rows = page.locator("#detection-rows tr").count()
    assert before >= 1

    page.route("**/api/predict", lambda route: route.abort("connectionrefused"))
    page.fill("#score_th", "0.9")
    assert wait_for_answer(page) == "error"
    assert "cannot be reached" in page.text_content("#message")
    assert page.locator("#retry").is_visible()
    assert boxes_drawn(page) == before and page.locator("#detection-rows tr").count() == rows
    assert page.evaluate("getComputedStyle(document.getElementById('overlay')).opacity") == "0.45"
    assert page.evaluate("getComputedStyle(document.getElementById('detections')).filter") == "grayscale(1)"
    assert serious_accessibility_problems(page) == []  # the error, Retry and the greyed result, as they are now

    page.unroute("**/api/predict")
    page.focus("#retry")
    page.keyboard.press("Enter")
    assert wait_for_answer(page) == "done"
    assert page.locator("#retry").is_hidden() and page.locator("#message").is_hidden()
    assert boxes_drawn(page) < before  # the answer for 0.9, not the old one
    assert page.evaluate("getComputedStyle(document.getElementById('overlay')).opacity") == "1"


def test_one_request_in_flight_and_the_latest_slider_state_wins(network_page):
    """While an answer is awaited, slider moves send nothing; then one request goes with the newest values."""
    page, posts, _ = network_page
    page.set_input_files("#file-input", str(COFFEE))
    assert wait_for_answer(page) == "done"

    held = []

    def hold_the_first(route) -> None:
        held.append(route)
        if len(held) > 1:
            route.continue_()

    page.route("**/api/predict", hold_the_first)
    page.fill("#score_th", "0.5")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    for value in ("0.6", "0.7", "0.8"):
        page.fill("#score_th", value)
        page.wait_for_timeout(250)  # past the slider's debounce: the page would send now if it did not wait
    assert len(held) == 1 and form_field(held[0].request.post_data_buffer, "score_th") == "0.5"
    held[0].continue_()
    assert wait_for_answer(page) == "done"
    sent = posts.settled(page, 3)
    assert [form_field(post["body"], "score_th") for post in sent[1:]] == ["0.5", "0.8"]  # the image, then these
    assert page.evaluate("document.getElementById('score_th').value") == "0.8"
