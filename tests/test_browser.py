"""The upload page in a real chromium against a real gunicorn: boxes drawn match the API, errors are human."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageOps
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tools.browser_helpers import (
    api_detections,
    boxes_drawn,
    colour_distance,
    drop_file,
    hex_rgb,
    listed_classes,
    open_page,
    overlay_pixel_near,
    page_params,
    paste_file,
    wait_for_answer,
    wait_until,
    watch_page,
)
from tools.servers import ROOT, gunicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

PHOTOS = ROOT / "tests" / "data" / "photos"
EXIF_ROTATED = ROOT / "tests" / "data" / "exif_rotated_astronaut.jpg"
ARTIFACTS = ROOT / "test-artifacts"
XSS_LABEL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def server():
    """One real gunicorn worker for the module."""
    with gunicorn_server(workers=1) as running:
        yield running


@pytest.fixture(scope="module")
def palette(server) -> list[str]:
    """The class colours the server publishes."""
    return requests.get(f"{server.url}/api/model", timeout=10).json()["palette"]


@pytest.fixture()
def watched_page(browser, server):
    """A fresh tab on the upload page, with its console errors, exceptions and dialogs recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems = watch_page(page)
    open_page(page, server.url)
    yield page, problems
    context.close()


def assert_top_box_drawn_in_place(page: Page, detection: dict, image_width: int, palette: list[str]) -> None:
    """The overlay has the class colour half-way along the box's left and bottom edges: it is where the API says."""
    x1, y1, x2, y2 = detection["box"]
    colour = hex_rgb(palette[detection["class_id"] % len(palette)])
    for x, y in [(x1, (y1 + y2) / 2), ((x1 + x2) / 2, y2)]:
        pixels = overlay_pixel_near(page, x, y, image_width)
        assert any(p[3] > 200 and colour_distance(p, colour) <= 12 for p in pixels), (x, y, pixels)


@pytest.mark.parametrize("photo", ["astronaut.jpg", "coffee.jpg"])
def test_chosen_photo_draws_as_many_boxes_as_the_api_finds(watched_page, server, palette, photo):
    """set_input_files: boxes drawn = rows listed = the API's detections for the same parameters."""
    page, _ = watched_page
    path = PHOTOS / photo
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    expected = api_detections(server.url, path, page_params(page))
    assert len(expected["detections"]) >= 1
    assert boxes_drawn(page) == len(expected["detections"])
    assert listed_classes(page) == [d["class_name"] for d in expected["detections"]]
    assert_top_box_drawn_in_place(page, expected["detections"][0], expected["image"]["width"], palette)
    summary = page.text_content("#summary")
    assert "object" in summary and "Server time" in summary
    models = requests.get(f"{server.url}/api/models", timeout=10).json()
    default = next(model for model in models["models"] if model["name"] == models["default"])
    assert page.text_content("#model-name") == default["title"]  # the header names the model for people
    assert default["family"].upper() in page.text_content("#model-details")


def test_drop_and_paste_load_an_image(watched_page, server):
    """A file dropped on the drop zone, then one pasted, each gets its boxes."""
    page, _ = watched_page
    astronaut = PHOTOS / "astronaut.jpg"
    drop_file(page, astronaut)
    assert wait_for_answer(page) == "done"
    expected = api_detections(server.url, astronaut, page_params(page))
    assert boxes_drawn(page) == len(expected["detections"]) >= 1
    assert page.text_content("#file-name") == "astronaut.jpg"

    coffee = PHOTOS / "coffee.jpg"
    paste_file(page, coffee)
    wait_until(page, "() => document.getElementById('file-name').textContent === 'coffee.jpg'")
    assert wait_for_answer(page) == "done"
    assert boxes_drawn(page) == len(api_detections(server.url, coffee, page_params(page))["detections"])


def test_raising_the_score_slider_removes_boxes(watched_page, server):
    """Low threshold: several boxes; keyboard and fill raise it: fewer boxes, numbers shown follow."""
    page, _ = watched_page
    coffee = PHOTOS / "coffee.jpg"
    page.fill("#score_th", "0.01")
    page.set_input_files("#file-input", str(coffee))
    assert wait_for_answer(page) == "done"
    low_count = boxes_drawn(page)
    assert low_count >= 3
    assert low_count == len(api_detections(server.url, coffee, page_params(page))["detections"])
    assert page.text_content("#score_th-value") == "0.01"

    page.focus("#score_th")
    page.keyboard.press("ArrowRight")
    assert page.text_content("#score_th-value") == "0.02"
    page.fill("#score_th", "0.9")  # moves in quick succession: only the last answer may count
    assert page.text_content("#score_th-value") == "0.90"
    assert wait_for_answer(page) == "done"
    high_count = boxes_drawn(page)
    assert high_count < low_count
    assert high_count == len(api_detections(server.url, coffee, page_params(page))["detections"])
    assert page.locator("#detection-rows tr").count() == high_count


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("notes.txt", b"these are not the pixels you are looking for\n", "not an image we can read"),
        ("broken.jpg", (PHOTOS / "coffee.jpg").read_bytes()[:20_000], "damaged or incomplete"),
    ],
)
def test_bad_file_shows_a_human_error(watched_page, tmp_path, name, content, expected):
    """A text file and a truncated JPEG: a sentence in the page, no JSON, no boxes."""
    page, _ = watched_page
    path = tmp_path / name
    path.write_bytes(content)
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "error"
    message = page.locator("#message")
    assert message.is_visible()
    text = message.text_content()
    assert expected in text
    assert "{" not in text and "status" not in text
    assert boxes_drawn(page) == 0


def test_normal_flow_has_no_console_errors_or_csp_violations(watched_page, palette):
    """Choose, move a slider, download PNG and JSON: nothing logged, nothing blocked."""
    page, problems = watched_page
    page.set_input_files("#file-input", str(PHOTOS / "astronaut.jpg"))
    assert wait_for_answer(page) == "done"
    page.fill("#nms_iou", "0.5")
    assert wait_for_answer(page) == "done"
    page.hover("#detection-rows tr")  # highlight redraw

    page.select_option("#download-format", "image/png")  # JPEG is the default
    with page.expect_download() as png_download:
        page.click("#download-image")
    with Image.open(png_download.value.path()) as png:
        assert png_download.value.suggested_filename == "astronaut-detections.png"
        assert (png.format, png.size) == ("PNG", (512, 512))
    with page.expect_download() as json_download:
        page.click("#download-json")
    body = Path(json_download.value.path()).read_text()
    assert '"detections"' in body

    assert problems.console_errors == []
    assert problems.page_errors == []
    assert page.evaluate("window.__cspViolations") == []
    assert page.locator("#api-open").is_visible()


def test_class_names_are_shown_as_text_not_html(browser, tmp_path):
    """A label that is an HTML payload shows literally; no element is made from it, no dialog opens."""
    coco = (ROOT / "inference" / "models" / "coco_classes.txt").read_text().split("\n")
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join([XSS_LABEL, *[name for name in coco if name.strip()][1:80]]) + "\n")
    brought = str(ROOT / "inference" / "models" / "yolox_nano.onnx")  # labels apply to models that are not embedded
    with gunicorn_server(env={"MODELS": brought, "MODEL_LABELS": str(labels)}, workers=1) as xss_server:
        context = browser.new_context()
        page = context.new_page()
        problems = watch_page(page)
        open_page(page, xss_server.url)
        page.set_input_files("#file-input", str(PHOTOS / "astronaut.jpg"))
        assert wait_for_answer(page) == "done"
        assert XSS_LABEL in listed_classes(page)
        assert page.locator('img[src="x"]').count() == 0
        page.wait_for_timeout(300)  # an onerror handler would have fired by now
        assert problems.dialogs == []
        context.close()


def upright_thumbnail(image: Image.Image, size: int = 32) -> list[int]:
    """A small grey thumbnail's pixels, for comparing pictures whatever their resolution."""
    return list(image.convert("L").resize((size, size), Image.Resampling.BILINEAR).tobytes())


def displayed_thumbnail(page: Page) -> list[int]:
    """The same thumbnail of the picture as it appears on screen (boxes hidden for the shot)."""
    page.evaluate("document.getElementById('overlay').style.visibility = 'hidden'")
    shot = page.locator("#photo").screenshot()
    page.evaluate("document.getElementById('overlay').style.visibility = ''")
    return upright_thumbnail(Image.open(io.BytesIO(shot)))


def mean_difference(a: list[float], b: list[float]) -> float:
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)


def landscape_with_exif_rotation(path: Path) -> None:
    """A 512x340 upright picture stored as 340x512 pixels with EXIF Orientation 6."""
    upright = Image.open(PHOTOS / "astronaut.jpg").crop((0, 0, 512, 340))
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(path, "JPEG", quality=92, exif=exif)


@pytest.mark.parametrize("source", ["given", "landscape"])
def test_exif_rotated_photo_is_shown_upright_with_its_boxes(watched_page, server, palette, tmp_path, source):
    """Displayed size and pixels are the upright image's, as the API sees it; boxes match the API."""
    page, _ = watched_page
    path = EXIF_ROTATED
    if source == "landscape":
        path = tmp_path / "landscape_rotated.jpg"
        landscape_with_exif_rotation(path)
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    expected = api_detections(server.url, path, page_params(page))
    natural = page.evaluate(
        "[document.getElementById('photo').naturalWidth, document.getElementById('photo').naturalHeight]"
    )
    assert natural == [expected["image"]["width"], expected["image"]["height"]]
    assert boxes_drawn(page) == len(expected["detections"]) >= 1
    assert_top_box_drawn_in_place(page, expected["detections"][0], expected["image"]["width"], palette)

    with Image.open(path) as stored:
        upright = upright_thumbnail(ImageOps.exif_transpose(stored))
        as_stored = upright_thumbnail(stored)
    shown = displayed_thumbnail(page)
    assert mean_difference(shown, upright) < 6 < mean_difference(shown, as_stored)


def test_boxes_follow_window_resizes_and_screenshot(watched_page, server, palette):
    """After the window shrinks the boxes still sit on the objects; saves the screenshot for the README."""
    page, _ = watched_page
    path = PHOTOS / "grace_hopper.jpg"
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    expected = api_detections(server.url, path, page_params(page))
    width = expected["image"]["width"]
    assert_top_box_drawn_in_place(page, expected["detections"][0], width, palette)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-with-boxes.png"), full_page=True)

    page.set_viewport_size({"width": 520, "height": 800})
    wait_until(
        page,
        "() => Math.abs(document.getElementById('overlay').width - document.getElementById('photo').clientWidth) <= 1",
    )
    assert page.evaluate("document.getElementById('photo').clientWidth") < 500
    assert_top_box_drawn_in_place(page, expected["detections"][0], width, palette)
    assert boxes_drawn(page) == len(expected["detections"])
    page.screenshot(path=str(ARTIFACTS / "page-narrow.png"), full_page=True)


def test_token_is_asked_for_sent_and_kept_for_the_tab(browser):
    """With API_TOKENS set: no token or a wrong one is explained, the right one works and survives a reload."""
    with gunicorn_server(env={"API_TOKENS": "s3cret-token"}, workers=1) as locked_server:
        context = browser.new_context()
        page = context.new_page()
        watch_page(page)
        open_page(page, locked_server.url)
        assert page.locator("#api-open").count() == 0
        page.set_input_files("#file-input", str(PHOTOS / "astronaut.jpg"))
        assert wait_for_answer(page) == "error"
        assert "needs an API token" in page.text_content("#message")
        assert page.evaluate("document.activeElement.id") == "api-token"

        page.fill("#api-token", "wrong")
        page.press("#api-token", "Enter")
        assert wait_for_answer(page) == "error"
        assert "did not accept that API token" in page.text_content("#message")

        page.fill("#api-token", "s3cret-token")
        page.press("#api-token", "Enter")
        assert wait_for_answer(page) == "done"
        assert boxes_drawn(page) >= 1
        assert page.locator("#message").is_hidden()

        page.reload()
        open_page(page, locked_server.url)
        assert page.input_value("#api-token") == "s3cret-token"
        context.close()


def test_tiff_the_browser_cannot_show_is_drawn_by_the_server(watched_page, server, tmp_path):
    """Chromium cannot decode TIFF: the page shows the server's annotated image (JPEG) instead, same detections."""
    page, _ = watched_page
    path = tmp_path / "astronaut.tiff"
    Image.open(PHOTOS / "astronaut.jpg").save(path, "TIFF")
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    expected = api_detections(server.url, path, page_params(page))
    assert boxes_drawn(page) == len(expected["detections"]) >= 1
    assert page.evaluate("document.getElementById('photo').src").startswith("data:image/jpeg;base64,")
    assert page.evaluate("document.getElementById('photo').naturalWidth") == expected["image"]["width"]
    assert page.locator("#stage").is_visible()


def test_unreachable_server_and_oversized_file_are_explained(watched_page):
    """A failed connection and a file over the server's limit each get a sentence, not silence."""
    page, _ = watched_page
    page.route("**/api/predict", lambda route: route.abort("connectionrefused"))
    page.set_input_files("#file-input", str(PHOTOS / "astronaut.jpg"))
    assert wait_for_answer(page) == "error"
    assert "cannot be reached" in page.text_content("#message")
    page.unroute("**/api/predict")

    page.evaluate("document.body.dataset.maxRequestBytes = '50000'")  # the limit the template renders
    page.set_input_files("#file-input", str(PHOTOS / "coffee.jpg"))  # 80 kB
    assert wait_for_answer(page) == "error"
    assert "this server accepts up to" in page.text_content("#message")


def test_an_image_chosen_right_after_a_slider_move_is_asked_for_once(watched_page):
    """The image goes with the sliders' current values, so the slider's pending request is dropped."""
    page, _ = watched_page
    predictions = []
    page.on("request", lambda request: request.url.endswith("/api/predict") and predictions.append(request))
    page.fill("#score_th", "0.2")  # starts the slider's debounce timer
    page.set_input_files("#file-input", str(PHOTOS / "coffee.jpg"))
    assert wait_for_answer(page) == "done"
    page.wait_for_timeout(600)  # well past the debounce delay
    assert page.evaluate("document.body.dataset.status") == "done"
    assert len(predictions) == 1


def test_a_late_answer_for_the_previous_image_does_not_overwrite_the_new_state(watched_page):
    """The answer for image 1 arrives after image 2 was refused as too large: the refusal stays on screen."""
    page, _ = watched_page
    held = []
    page.route("**/api/predict", lambda route: held.append(route))  # keep image 1's request waiting
    page.set_input_files("#file-input", str(PHOTOS / "astronaut.jpg"))
    wait_until(page, "() => document.body.dataset.status === 'busy'")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the page never asked the API"

    page.evaluate("document.body.dataset.maxRequestBytes = '50000'")
    page.set_input_files("#file-input", str(PHOTOS / "coffee.jpg"))  # 80 kB: refused in the page
    assert wait_for_answer(page) == "error"
    with contextlib.suppress(PlaywrightError):  # the page may have cancelled that request: nothing to deliver
        held[0].continue_()  # image 1's answer may now arrive
    page.wait_for_timeout(1500)
    assert page.evaluate("document.body.dataset.status") == "error"
    assert "this server accepts up to" in page.text_content("#message")
    assert boxes_drawn(page) == 0

    # Nor does a slider move re-send image 1 behind the refusal: the page has no image any more.
    sent_after = []
    page.on("request", lambda request: request.url.endswith("/api/predict") and sent_after.append(request))
    page.fill("#score_th", "0.5")
    page.wait_for_timeout(600)
    assert sent_after == [] and "this server accepts up to" in page.text_content("#message")
    assert page.locator("#stage").is_hidden()
