"""The page's extras in a real chromium against a real gunicorn: examples, class filter, camera, several images,
code snippets, the API docs page, and the small touches (keyboard rows, tiny images, paste hint, narrow screens,
JPEG or PNG). Screenshots of the first four go to test-artifacts/screenshots/, or with UPDATE_SCREENSHOTS=1 to
docs/screenshots/ (the ones the docs show), so an ordinary run leaves the checkout clean."""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from tools.browser_helpers import (
    PHOTOS,
    api_detections,
    boxes_drawn,
    hex_rgb,
    launch_chromium,
    listed_classes,
    open_page,
    overlay_pixel_near,
    page_params,
    save_screenshot,
    wait_for_answer,
    wait_until,
    watch_page,
)
from tools.servers import ROOT, gunicorn_server
from webapp.examples import EXAMPLES, THUMBNAIL_SIDE

pytestmark = [pytest.mark.browser, pytest.mark.server]

EXAMPLES_DIR = ROOT / "webapp" / "static" / "examples"
MAX_BATCH = 2  # small, so a handful of images needs several requests
FAKE_CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
HOLD_S = 0.6  # extra answer time the camera test gives the server


@pytest.fixture(scope="module")
def server():
    """One real gunicorn worker with a small batch limit."""
    with gunicorn_server(env={"MAX_BATCH": str(MAX_BATCH)}, workers=1) as running:
        yield running


@pytest.fixture(scope="module")
def model_info(server) -> dict:
    return requests.get(f"{server.url}/api/model", timeout=10).json()


@pytest.fixture(scope="module")
def playwright():
    """One Playwright driver for the module (two at once are not allowed)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright):
    launched = launch_chromium(playwright)
    yield launched
    launched.close()


# Injected before the page's scripts: chromium does not report multipart bodies that hold files, so the
# forms the page posts (by fetch or XMLHttpRequest) are recorded as sent (files as name and size; blobs kept).
RECORD_FORM_POSTS = """
window.__posts = [];
window.__postedFiles = [];
const recordForm = (url, body) => {
  if (!(body instanceof FormData)) return;
  const fields = {};
  for (const [name, value] of body.entries()) {
    if (value instanceof Blob) window.__postedFiles.push(value);
    (fields[name] = fields[name] || []).push(value instanceof Blob ? {file: value.name, size: value.size} : value);
  }
  window.__posts.push({url: String(url), fields, at: performance.now()});
};
const pageFetch = window.fetch;
window.fetch = function (input, init) {
  recordForm(input, init && init.body);
  return pageFetch.apply(this, arguments);
};
const xhrOpen = XMLHttpRequest.prototype.open;
const xhrSend = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.open = function (method, url) {
  this.__url = url;
  return xhrOpen.apply(this, arguments);
};
XMLHttpRequest.prototype.send = function (body) {
  recordForm(this.__url, body);
  return xhrSend.apply(this, arguments);
};
"""


class Watched:
    """A page with everything that went wrong in it, every URL it asked for, and the forms it posted."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.problems = watch_page(page)
        page.add_init_script(RECORD_FORM_POSTS)
        self.urls: list[str] = []
        self.http_errors_expected = False
        self.base_url = base_url
        page.on("request", lambda request: self.urls.append(request.url))

    def posts(self) -> list[dict]:
        """Each form posted to api/predict: {name: [value or {file, size}]}."""
        return [post["fields"] for post in self.page.evaluate("window.__posts") if post["url"].endswith("api/predict")]

    def last_posted_file(self) -> bytes:
        """The bytes of the newest file the page posted."""
        encoded = self.page.evaluate(
            """async () => { const bytes = new Uint8Array(await window.__postedFiles.at(-1).arrayBuffer());
              let text = ""; for (const byte of bytes) text += String.fromCharCode(byte); return btoa(text); }"""
        )
        return base64.b64decode(encoded)

    def check_clean(self) -> None:
        """No uncaught error, no CSP violation, nothing from another origin, no console error."""
        page = self.page
        assert self.problems.page_errors == []
        assert page.evaluate("window.__cspViolations") == []
        outside = [url for url in self.urls if not url.startswith((self.base_url, "blob:", "data:"))]
        assert outside == []
        # The tests' own pixel reads (getImageData) make chromium suggest willReadFrequently: not the page's.
        errors = [e for e in self.problems.console_errors if "willReadFrequently" not in e]
        if self.http_errors_expected:  # chromium logs each 4xx answer to fetch as a console error
            errors = [e for e in errors if "the server responded with a status of 4" not in e]
        assert errors == []


def watched(browser, url: str, **context_options) -> Watched:
    options = {"viewport": {"width": 1280, "height": 900}, "accept_downloads": True, **context_options}
    context = browser.new_context(**options)
    result = Watched(context.new_page(), url)
    open_page(result.page, url)
    return result


@pytest.fixture()
def tab(browser, server):
    """A fresh tab on the page; checked for errors, CSP violations and outside requests afterwards."""
    result = watched(browser, server.url)
    yield result
    result.check_clean()
    result.page.context.close()


def choose_example(page: Page, title: str) -> None:
    page.get_by_role("button", name=title).click()


# --- 1. examples ---------------------------------------------------------------------------------------


def test_example_files_are_the_licensed_photos_with_thumbnails():
    """Every example is a byte-identical copy of a photo credited in tests/data/README.md, with a thumbnail."""
    credits = (ROOT / "tests" / "data" / "README.md").read_text()
    for example in EXAMPLES:
        assert (EXAMPLES_DIR / example.file).read_bytes() == (PHOTOS / example.file).read_bytes()
        assert f"`photos/{example.file}`" in credits
        with Image.open(EXAMPLES_DIR / example.thumbnail) as thumbnail:
            assert max(thumbnail.size) == THUMBNAIL_SIDE and thumbnail.format == "JPEG"


def test_one_click_on_an_example_runs_it_and_credits_are_shown(tab, server):
    page = tab.page
    strip = page.locator(".examples")
    for example in EXAMPLES:
        assert strip.get_by_role("button", name=example.title).is_visible()
        assert f"{example.credit} · {example.licence}" in strip.inner_text()
    choose_example(page, "Espresso cup")
    assert wait_for_answer(page) == "done"
    assert page.text_content("#file-name") == "coffee.jpg"
    expected = api_detections(server.url, PHOTOS / "coffee.jpg", page_params(page))
    assert boxes_drawn(page) == len(expected["detections"]) >= 1
    assert listed_classes(page) == [d["class_name"] for d in expected["detections"]]
    save_screenshot(page, "examples")


# --- 2. class filter -----------------------------------------------------------------------------------


def chip_state(page: Page) -> dict[str, tuple[int, bool]]:
    """Class chip -> (count shown, pressed)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("#class-chips .chip")].map((chip) => [
          chip.dataset.className,
          [Number(chip.querySelector(".chip-count").textContent), chip.getAttribute("aria-pressed") === "true"]]))"""
    )


def test_class_chips_and_search_ask_the_server_and_reset_clears_them(tab, server):
    page = tab.page
    choose_example(page, "Espresso cup")
    assert wait_for_answer(page) == "done"
    everything = api_detections(server.url, PHOTOS / "coffee.jpg", page_params(page))["detections"]
    counts = {name: [d["class_name"] for d in everything].count(name) for name in {d["class_name"] for d in everything}}
    assert len(counts) >= 2, "the test needs a photo with two classes"
    assert chip_state(page) == {name: [count, False] for name, count in counts.items()}

    page.click('#class-chips .chip[data-class-name="cup"]')
    assert wait_for_answer(page) == "done"
    assert tab.posts()[-1]["classes"] == ["cup"]
    only_cups = api_detections(server.url, PHOTOS / "coffee.jpg", {**page_params(page), "classes": "cup"})
    assert listed_classes(page) == [d["class_name"] for d in only_cups["detections"]] == ["cup"] * counts["cup"]
    assert chip_state(page)["cup"] == [counts["cup"], True]

    # Any class of the model: typed in the search box; a name it does not know is refused in the page.
    sent = len(tab.posts())
    page.fill("#class-search", "unicorn")
    page.press("#class-search", "Enter")
    assert "does not know “unicorn”" in page.text_content("#class-search-hint")
    page.wait_for_timeout(300)
    assert len(tab.posts()) == sent
    page.fill("#class-search", "Person")
    page.press("#class-search", "Enter")
    assert wait_for_answer(page) == "done"
    assert tab.posts()[-1]["classes"] == ["cup,person"]
    assert chip_state(page)["person"] == [0, True]
    assert page.text_content("#class-filter-state") == "Looking only for cup, person."
    save_screenshot(page, "class-filter")

    page.click("#reset-settings")
    assert wait_for_answer(page) == "done"
    assert "classes" not in tab.posts()[-1]
    assert chip_state(page) == {name: [count, False] for name, count in counts.items()}
    assert sorted(listed_classes(page)) == sorted(d["class_name"] for d in everything)


# --- 3. camera -----------------------------------------------------------------------------------------


def write_y4m(photo: Path, target: Path, frames: int = 2) -> None:
    """A raw YUV 4:2:0 video of a still photo: what chromium's fake camera plays in a loop."""
    with Image.open(photo) as image:
        rgb = image.convert("RGB")
    width, height = rgb.width // 2 * 2, rgb.height // 2 * 2
    luma, blue, red = rgb.resize((width, height)).convert("YCbCr").split()
    half = (width // 2, height // 2)
    frame = b"FRAME\n" + luma.tobytes() + blue.resize(half).tobytes() + red.resize(half).tobytes()
    target.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)


@pytest.fixture(scope="module")
def camera_browser(playwright, tmp_path_factory):
    """Chromium whose fake camera films the astronaut photo, permission granted without asking."""
    video = tmp_path_factory.mktemp("camera") / "astronaut.y4m"
    write_y4m(PHOTOS / "astronaut.jpg", video)
    launched = launch_chromium(playwright, [*FAKE_CAMERA_ARGS, f"--use-file-for-fake-video-capture={video}"])
    yield launched
    launched.close()


class InFlight:
    """How many /api/predict requests are open at once (at most, over the test)."""

    def __init__(self, page: Page) -> None:
        self.open = 0
        self.most = 0
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)

    def _start(self, request) -> None:
        if request.url.endswith("/api/predict"):
            self.open += 1
            self.most = max(self.most, self.open)

    def _end(self, request) -> None:
        if request.url.endswith("/api/predict"):
            self.open -= 1


def camera_frames(page: Page) -> int:
    return int(page.get_attribute("#camera", "data-frames") or 0)


def test_camera_draws_boxes_live_one_frame_in_flight_and_slows_with_the_server(camera_browser, server, model_info):
    page_watch = watched(camera_browser, server.url)
    page = page_watch.page
    in_flight = InFlight(page)
    page.click("#camera-start")
    wait_until(page, "() => Number(document.getElementById('camera').dataset.frames) >= 3", timeout=30)
    assert page.locator("#camera-video").is_visible()
    assert int(page.get_attribute("#camera-overlay", "data-box-count")) >= 1
    # The person box is drawn where the video shows her: its colour sits on the overlay.
    person = hex_rgb(model_info["palette"][0])
    drawn = page.evaluate(
        """(colour) => {
          const canvas = document.getElementById("camera-overlay");
          const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          let hits = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] > 200 && Math.abs(data[i] - colour[0]) + Math.abs(data[i + 1] - colour[1]) + Math.abs(data[i + 2] - colour[2]) < 30) hits++;
          }
          return hits;
        }""",
        list(person),
    )
    assert drawn > 200
    with Image.open(io.BytesIO(page_watch.last_posted_file())) as frame:  # shrunk to the model's input side
        assert max(frame.size) == max(model_info["input_size"].values())
    save_screenshot(page, "camera")

    # A slower server: each answer held 0.6 s more. The next frame leaves only once the answer is in, so
    # frames go out at least 0.6 s apart, and the rate the page shows drops below 1 / 0.6 s.
    page.route("**/api/predict", lambda route: (time.sleep(HOLD_S), route.continue_()))
    page.wait_for_timeout(2 * HOLD_S * 1000)  # frames already past the interception when it started
    held_from = len(page_watch.posts())
    wait_until(page, "(n) => window.__posts.length >= n", held_from + 3, timeout=30)
    sent_at = [post["at"] for post in page.evaluate("window.__posts")[held_from - 1 :]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent_at)]
    assert len(gaps) >= 3 and min(gaps) >= HOLD_S * 1000 - 20, gaps
    wait_until(page, f"() => Number(document.getElementById('camera').dataset.fps) < {1 / HOLD_S}")
    assert "frames/s" in page.text_content("#camera-rate")
    page.unroute("**/api/predict")
    assert in_flight.most == 1

    # Pause stops the frames and clears the rate; Snapshot puts the picture, at the size live frames go, in the main
    # view with its own answer (the live view's), and stops the camera.
    page.click("#camera-pause")
    while in_flight.open:  # the frame in flight still lands
        page.wait_for_timeout(50)
    page.wait_for_timeout(300)  # and is counted once its answer is drawn
    paused_at = camera_frames(page)
    page.wait_for_timeout(600)
    assert camera_frames(page) == paused_at and page.text_content("#camera-pause") == "Resume"
    assert page.text_content("#camera-rate") == "Paused"
    live_boxes = int(page.get_attribute("#camera-overlay", "data-box-count"))
    page.click("#camera-snapshot")
    assert wait_for_answer(page) == "done"
    assert page.text_content("#file-name").startswith("camera-")
    assert "person" in listed_classes(page)
    assert boxes_drawn(page) == live_boxes  # the same picture at the same size: the live view's answer
    with Image.open(io.BytesIO(page_watch.last_posted_file())) as snapshot:
        assert max(snapshot.size) == max(model_info["input_size"].values())
    assert page.locator("#camera").is_hidden() and page.locator("#camera-start").is_visible()

    page_watch.check_clean()
    page.context.close()


def test_without_a_camera_the_page_is_unchanged(browser, server):
    """A camera API but no device: a sentence, and the page still works. No camera API: no camera button."""
    no_device = watched(browser, server.url)
    page = no_device.page
    assert page.locator("#camera-start").is_visible()  # headless chromium has the API, and no device
    page.click("#camera-start")
    wait_until(page, "() => document.getElementById('camera-error').textContent !== ''")
    assert "No camera" in page.text_content("#camera-error")
    assert page.locator("#camera").is_hidden()
    choose_example(page, "Astronaut Eileen Collins")
    assert wait_for_answer(page) == "done"
    no_device.check_clean()
    page.context.close()

    context = browser.new_context()
    context.add_init_script("Object.defineProperty(navigator, 'mediaDevices', {value: undefined})")
    page = context.new_page()
    open_page(page, server.url)
    assert page.locator("#camera-start").is_hidden()
    context.close()


# --- 4. several images ---------------------------------------------------------------------------------


def test_several_images_go_in_batches_the_server_allows_and_fill_a_gallery(tab, server, model_info, tmp_path):
    page = tab.page
    tab.http_errors_expected = True
    assert model_info["limits"]["max_batch"] == MAX_BATCH
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    files = [
        PHOTOS / "astronaut.jpg",
        notes,
        PHOTOS / "coffee.jpg",
        PHOTOS / "chelsea.png",
        PHOTOS / "grace_hopper.jpg",
    ]
    page.set_input_files("#file-input", [str(path) for path in files])
    page.wait_for_selector(f'#gallery[data-done="{len(files)}"]', state="attached", timeout=60_000)

    images_per_post = [len(post["image"]) for post in tab.posts()]
    assert images_per_post == [2, 2, 1]
    items = page.locator("#gallery-list .gallery-item")
    assert items.count() == len(files)
    for index, path in enumerate(files):
        item = items.nth(index)
        if path == notes:
            assert item.get_attribute("data-state") == "error"
            assert "not an image we can read" in item.inner_text()
            continue
        expected = api_detections(server.url, path, page_params(page))["detections"]
        assert item.get_attribute("data-state") == "done"
        assert int(item.get_attribute("data-count")) == len(expected)
    assert page.text_content("#gallery-status") == "5 images: 4 done, 1 with errors."
    save_screenshot(page, "gallery")

    with page.expect_download() as download:
        page.click("#gallery-download")
    records = json.loads(Path(download.value.path()).read_text())
    assert [record["file"] for record in records] == [path.name for path in files]
    assert records[1]["error"]["code"] == "unsupported_image"
    assert records[3]["image"]["width"] == 451 and records[3]["detections"][0]["class_name"] == "cat"

    # New settings: every image is asked again, those the server has by sha256 only (2 + 2), the unreadable file
    # as bytes once more; the counts follow the new threshold.
    posts_before = len(tab.posts())
    page.fill("#score_th", "0.9")
    wait_until(page, "(n) => window.__posts.filter((p) => p.url.endsWith('api/predict')).length >= n", posts_before + 3)
    page.wait_for_selector(f'#gallery[data-done="{len(files)}"]', state="attached", timeout=60_000)
    wait_until(page, "() => !document.getElementById('gallery-download').disabled")
    refresh = tab.posts()[posts_before:]
    assert [len(post.get("image_sha256", [])) for post in refresh] == [2, 2, 0]
    assert [file["file"] for post in refresh for file in post.get("image", [])] == ["notes.txt"]
    assert all(post["score_th"] == ["0.9"] for post in refresh)
    for index, path in enumerate(files):
        if path != notes:
            expected = api_detections(server.url, path, page_params(page))["detections"]
            assert int(items.nth(index).get_attribute("data-count")) == len(expected), path.name
    assert page.text_content("#gallery-status") == "5 images: 4 done, 1 with errors."

    # The server lost them (evicted, or another instance answers): those slots come back image_not_cached, and
    # the page sends those images' bytes instead.
    def forget_by_sha256(route) -> None:
        count = (route.request.post_data_buffer or b"").count(b'name="image_sha256"')
        if not count:
            return route.continue_()
        lost = {"error": {"status": 404, "code": "image_not_cached", "message": "send the image bytes again"}}
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"responses": [lost] * count}))

    page.route("**/api/predict", forget_by_sha256)
    posts_before = len(tab.posts())
    page.fill("#score_th", "0.5")
    wait_until(page, "(n) => window.__posts.filter((p) => p.url.endsWith('api/predict')).length >= n", posts_before + 5)
    page.wait_for_selector(f'#gallery[data-done="{len(files)}"]', state="attached", timeout=60_000)
    wait_until(page, "() => !document.getElementById('gallery-download').disabled")
    page.unroute("**/api/predict")
    refresh = tab.posts()[posts_before:]
    assert [len(post.get("image_sha256", [])) for post in refresh] == [2, 2, 0, 0, 0]
    assert [len(post.get("image", [])) for post in refresh] == [0, 0, 2, 2, 1]
    for index, path in enumerate(files):
        if path != notes:
            expected = api_detections(server.url, path, page_params(page))["detections"]
            assert int(items.nth(index).get_attribute("data-count")) == len(expected), path.name

    items.nth(2).get_by_role("button").click()  # opens coffee.jpg in the main view
    assert wait_for_answer(page) == "done"
    assert page.text_content("#file-name") == "coffee.jpg"
    assert boxes_drawn(page) == len(api_detections(server.url, PHOTOS / "coffee.jpg", page_params(page))["detections"])


# --- 5. use it from code -------------------------------------------------------------------------------


def snippet(page: Page, tab_name: str) -> str:
    page.get_by_role("tab", name=tab_name).click()
    return page.text_content("#snippet-code")


def detection_lines(output: str) -> list[str]:
    """Class names from the snippets' `print(class_name, score, box)` lines."""
    return [line.split()[0] for line in output.strip().splitlines()]


def test_code_snippets_make_the_pages_request_and_really_run(tab, server, tmp_path):
    page = tab.page
    choose_example(page, "Espresso cup")
    assert wait_for_answer(page) == "done"
    page.fill("#score_th", "0.5")
    assert wait_for_answer(page) == "done"
    page.click('#class-chips .chip[data-class-name="cup"]')
    assert wait_for_answer(page) == "done"
    shown = listed_classes(page)
    page.click("#code-panel summary")
    params = page_params(page)

    (tmp_path / "photo.jpg").write_bytes((PHOTOS / "coffee.jpg").read_bytes())
    curl = snippet(page, "curl")
    for name, value in params.items():
        assert f"{name}={value}" in curl
    assert "classes=cup" in curl and "X-Api-Token" not in curl
    answer = subprocess.run(
        shlex.split(curl.replace("\\\n", " ")), cwd=tmp_path, capture_output=True, timeout=60, check=False
    )
    assert [d["class_name"] for d in json.loads(answer.stdout)["responses"][0]["detections"]] == shown

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for tab_name in ("Python requests", "Python client"):
        code = snippet(page, tab_name)
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert run.returncode == 0, run.stderr
        assert detection_lines(run.stdout) == shown

    javascript = snippet(page, "JavaScript")
    logged = page.evaluate(
        "async (b64) => { const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));"
        " const file = new File([bytes], 'photo.jpg', {type: 'image/jpeg'});"
        " const lines = []; const console = {log: (...parts) => lines.push(parts)};\n"
        + javascript
        + "\nreturn lines; }",
        __import__("base64").b64encode((PHOTOS / "coffee.jpg").read_bytes()).decode(),
    )
    assert [line[0] for line in logged] == shown

    # A server that needs a token: every snippet has a placeholder for it, never a value.
    page.evaluate("document.body.dataset.authRequired = 'true'")
    page.fill("#score_th", "0.45")
    assert wait_for_answer(page) == "done"
    assert '-H "X-Api-Token: $DETECTION_API_TOKEN"' in snippet(page, "curl")
    assert 'os.environ["DETECTION_API_TOKEN"]' in snippet(page, "Python requests")
    assert 'token=os.environ["DETECTION_API_TOKEN"]' in snippet(page, "Python client")
    assert '"X-Api-Token": "<your API token>"' in snippet(page, "JavaScript")
    assert "score_th=0.45" in snippet(page, "curl")


# --- 6. API docs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_api_docs_page_renders_the_openapi_document_offline(browser, server, scheme):
    page_watch = watched(browser, server.url, color_scheme=scheme)
    page = page_watch.page
    page.click("text=API docs")
    page.wait_for_selector('#api-docs[data-status="ready"]', state="attached", timeout=20_000)
    assert page.url == f"{server.url}/docs"
    document = requests.get(f"{server.url}/api/openapi.json", timeout=10).json()
    operations = [m for path in document["paths"].values() for m in path if m in ("get", "post")]
    assert page.locator(".opblock").count() == len(operations)
    assert page.evaluate("document.documentElement.classList.contains('dark-mode')") == (scheme == "dark")
    page_watch.check_clean()
    page.context.close()


def test_vendored_swagger_ui_is_the_pinned_release():
    """Every vendored file is listed with its sha256 in the vendor README, and matches it."""
    folder = ROOT / "webapp" / "static" / "vendor" / "swagger-ui"
    listed = dict(re.findall(r"\| `([^`]+)` \| `([0-9a-f]{64})` \|", (folder.parent / "README.md").read_text()))
    assert listed == {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()}


def test_readme_links_the_docs_page():
    assert "/docs" in (ROOT / "README.md").read_text()


# --- 7. rough edges ------------------------------------------------------------------------------------


def test_keyboard_focus_on_a_row_highlights_its_box_like_the_mouse(tab, server, model_info):
    page = tab.page
    choose_example(page, "Espresso cup")
    assert wait_for_answer(page) == "done"
    detections = api_detections(server.url, PHOTOS / "coffee.jpg", page_params(page))["detections"]
    assert len(detections) >= 2
    width = 600

    def alpha_on_left_edge(detection) -> int:
        x1, y1, _x2, y2 = detection["box"]
        return max(p[3] for p in overlay_pixel_near(page, x1, (y1 + y2) / 2, width))

    assert min(alpha_on_left_edge(d) for d in detections[:2]) > 200  # nothing highlighted: all opaque
    page.focus("#detection-rows tr")
    page.keyboard.press("ArrowDown")  # the keyboard moves along the rows
    assert page.evaluate("document.activeElement === document.querySelectorAll('#detection-rows tr')[1]")
    assert alpha_on_left_edge(detections[1]) > 200 and alpha_on_left_edge(detections[0]) < 120
    assert page.evaluate("getComputedStyle(document.activeElement).backgroundColor") != "rgba(0, 0, 0, 0)"
    page.keyboard.press("ArrowUp")
    assert alpha_on_left_edge(detections[0]) > 200 and alpha_on_left_edge(detections[1]) < 120


def test_a_tiny_image_is_shown_enlarged_with_a_warning(tab, tmp_path):
    page = tab.page
    tiny = tmp_path / "tiny.png"
    Image.open(PHOTOS / "astronaut.jpg").resize((32, 32)).save(tiny)
    page.set_input_files("#file-input", str(tiny))
    wait_for_answer(page)
    note = page.locator("#small-image-note")
    assert note.is_visible() and "results may be poor" in note.text_content() and "32×32" in note.text_content()
    assert page.evaluate("document.getElementById('photo').clientWidth") >= 300

    page.set_input_files("#file-input", str(PHOTOS / "astronaut.jpg"))
    assert wait_for_answer(page) == "done"
    assert note.is_hidden()


def test_phone_layout_has_results_under_the_picture_and_no_paste_hint(browser, server):
    desktop = watched(browser, server.url)
    assert desktop.page.locator("#paste-hint").is_visible()
    desktop.page.context.close()

    phone = watched(browser, server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.page
    assert page.locator("#paste-hint").is_hidden()
    choose_example(page, "Astronaut Eileen Collins")
    assert wait_for_answer(page) == "done"
    top = lambda selector: page.locator(selector).bounding_box()["y"]
    stage_bottom = top("#stage") + page.locator("#stage").bounding_box()["height"]
    assert stage_bottom < top("#results-title") < top("#settings-title")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing sticks out
    phone.check_clean()
    page.context.close()


@pytest.mark.parametrize(
    ("choice", "extension", "image_format"), [("image/jpeg", "jpg", "JPEG"), ("image/png", "png", "PNG")]
)
def test_annotated_download_as_jpeg_or_png(tab, choice, extension, image_format):
    page = tab.page
    choose_example(page, "Astronaut Eileen Collins")
    assert wait_for_answer(page) == "done"
    page.select_option("#download-format", choice)
    with page.expect_download() as download:
        page.click("#download-image")
    assert download.value.suggested_filename == f"astronaut-detections.{extension}"
    with Image.open(download.value.path()) as image:
        assert (image.format, image.size) == (image_format, (512, 512))


# --- keyboard only -------------------------------------------------------------------------------------


def focus_walk(page: Page, limit: int = 120) -> list[str]:
    """What Tab focuses, in order, once round the page from the focused element: ids, or tag and text."""
    describe = """() => { const e = document.activeElement;
      return e.id || `${e.tagName.toLowerCase()}:${(e.getAttribute("aria-label") || e.textContent).trim().slice(0, 40)}`; }"""
    start = page.evaluate(describe)
    seen = [start]
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = page.evaluate(describe)
        if now == start:
            return seen
        seen.append(now)
    raise AssertionError(f"Tab never came back to {start}: {seen}")


def test_keyboard_alone_reaches_every_control(tab, model_info):
    page = tab.page
    page.focus(".example >> nth=1")
    page.keyboard.press("Enter")  # an example, run from the keyboard
    assert wait_for_answer(page) == "done"
    page.focus("#code-panel summary")
    page.keyboard.press("Enter")  # opens the code panel
    page.set_input_files("#file-input", [str(PHOTOS / "astronaut.jpg"), str(PHOTOS / "coffee.jpg")])  # a gallery
    page.wait_for_selector('#gallery[data-done="2"]', state="attached", timeout=30_000)
    page.focus("#drop-zone")
    seen = focus_walk(page)
    sliders = page.evaluate("[...document.querySelectorAll('input[type=range], select#model')].map((s) => s.id)")
    expected = [
        "drop-zone",
        "camera-start",
        *[f"button:{e.title}" for e in EXAMPLES],
        *sliders,
        "reset-settings",
        "class-search",
        "class-add",
        "download-format",
        "download-image",
        "download-json",
        "tab-curl",
        "snippet-copy",
        "a:API docs",
        "gallery-download",
        "gallery-close",
        "button:astronaut.jpg",
        "button:coffee.jpg",
    ]
    missing = [name for name in expected if not any(item.startswith(name) for item in seen)]
    assert missing == []
    assert any(item.startswith("button:cup") for item in seen)  # a class chip
    assert sum(item.startswith("tr:") for item in seen) == 1  # the table is one stop; arrows move inside
    page.focus("#tab-curl")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-requests"
    assert "import requests" in page.text_content("#snippet-code")
