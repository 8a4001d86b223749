"""The page's core interaction in a real chromium against a real gunicorn: the photo and the sliders on screen
together (desktop and phone), boxes that follow a dragged slider over a slow link, model switching without a 404,
two models compared, clicks kept while the scripts load, no layout shift, and the small touches (touch targets,
values said once, messages, Retry, gallery pictures with boxes). Screenshots of a result (desktop and phone, light
and dark) go to test-artifacts/screenshots/, or with UPDATE_SCREENSHOTS=1 to docs/screenshots/."""

from __future__ import annotations

import math
import re
import shutil

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page

from inference.params import PARAMETERS
from tools.browser_helpers import (
    PHOTOS,
    UPDATING_SCREENSHOTS,
    api_detections,
    boxes_drawn,
    hex_rgb,
    open_page,
    page_params,
    wait_for_answer,
    wait_until,
    watch_page,
)
from tools.browser_helpers import save_screenshot as save_page_screenshot
from tools.servers import ROOT, gunicorn_server
from webapp.examples import EXAMPLES
from webapp.static_assets import PAGE_BUNDLE

pytestmark = [pytest.mark.browser, pytest.mark.server]

README_SCREENSHOT = "result-desktop-light"  # also docs/screenshot.png, the one the README shows
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
ROUND_TRIP_MS = 150  # the emulated link of the drag test
TOUCH_TARGET_PX = 44

# Every layout shift the page makes by itself (not right after an input), summed as Chrome's CLS does for a load.
RECORD_LAYOUT_SHIFTS = """
window.__cls = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
}).observe({ type: "layout-shift", buffered: true });
"""

# The forms the page posts (chromium does not report multipart bodies that hold files): fields, files as sizes.
RECORD_POSTS = """
window.__posts = [];
const xhrOpen = XMLHttpRequest.prototype.open;
const xhrSend = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.open = function (method, url) { this.__url = url; return xhrOpen.apply(this, arguments); };
XMLHttpRequest.prototype.send = function (body) {
  if (body instanceof FormData && String(this.__url).endsWith("api/predict")) {
    const fields = {};
    for (const [name, value] of body.entries()) fields[name] = value instanceof Blob ? { size: value.size } : value;
    window.__posts.push(fields);
  }
  return xhrSend.apply(this, arguments);
};
"""


@pytest.fixture(scope="module")
def server():
    """One real gunicorn worker with both embedded models."""
    with gunicorn_server(env={"MODELS": "deimv2_femto,yolox_nano"}, workers=1) as running:
        yield running


@pytest.fixture(scope="module")
def models(server) -> dict:
    return requests.get(f"{server.url}/api/models", timeout=10).json()


def new_tab(browser, url: str, device: dict, scheme: str = "light", init: str = "") -> tuple[Page, object]:
    context = browser.new_context(**device, color_scheme=scheme, accept_downloads=True)
    page = context.new_page()
    problems = watch_page(page)
    page.add_init_script(RECORD_POSTS + init)
    open_page(page, url)
    return page, problems


def box(page: Page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


def inside_viewport(rect: dict, viewport: dict) -> bool:
    return (
        rect["x"] >= 0
        and rect["y"] >= 0
        and rect["x"] + rect["width"] <= viewport["width"] + 0.5
        and rect["y"] + rect["height"] <= viewport["height"] + 0.5
    )


def table_rows(page: Page) -> list[tuple[str, str, str]]:
    """(class, score, box) of each row of the table, as shown."""
    return page.locator("#detection-rows tr").evaluate_all(
        "(rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent.trim()))"
    )


def as_rows(detections: list[dict]) -> list[list[str]]:
    """The API's detections as the table shows them (JavaScript's Math.round: halves go up)."""
    return [
        [d["class_name"], f"{d['score']:.2f}", ", ".join(str(math.floor(v + 0.5)) for v in d["box"])]
        for d in detections
    ]


def save_screenshot(page: Page, name: str) -> None:
    """The viewport in SCREENSHOTS; the README's screenshot too, when refreshing them."""
    path = save_page_screenshot(page, name)
    if UPDATING_SCREENSHOTS and name == README_SCREENSHOT:
        shutil.copyfile(path, ROOT / "docs" / "screenshot.png")


def tall_portrait(path) -> None:
    """A 600x1500 portrait (the astronaut on a tall wall): one a fold would cut."""
    canvas = Image.new("RGB", (600, 1500), (120, 130, 140))
    canvas.paste(Image.open(PHOTOS / "astronaut.jpg").convert("RGB"), (44, 500))
    canvas.save(path, "JPEG", quality=90)


# --- 1. result first: photo and sliders together ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "scheme"), [("desktop", "light"), ("desktop", "dark"), ("phone", "light"), ("phone", "dark")]
)
def test_photo_and_score_slider_are_on_screen_together(browser, server, tmp_path, device, scheme):
    """After a photo is chosen (a portrait, and a very tall one) the whole photo and the score slider are inside the
    viewport; the input bar has shrunk; on a desktop the sliders and the table sit beside the photo, on a phone the
    settings are a sheet under it; hovering (or focusing) a row highlights a box that is on screen."""
    settings = DESKTOP if device == "desktop" else PHONE
    viewport = settings["viewport"]
    page, problems = new_tab(browser, server.url, settings, scheme)
    empty_drop = box(page, "#drop-zone")
    tall = tmp_path / "tall.jpg"
    tall_portrait(tall)
    for path in (PHOTOS / "grace_hopper.jpg", tall):
        page.set_input_files("#file-input", str(path))
        assert wait_for_answer(page) == "done"
        photo, slider = box(page, "#photo"), box(page, "#score_th")
        print(f"{device} {scheme} {path.name}: photo {photo}, score slider {slider}")
        assert inside_viewport(photo, viewport) and inside_viewport(slider, viewport), (photo, slider)
        assert photo["height"] > viewport["height"] * 0.4  # fitted, not shrunk to a stamp
    if device == "desktop" and scheme == "light":
        save_screenshot(page, "tall-photo-desktop")

    page.set_input_files("#file-input", str(PHOTOS / "grace_hopper.jpg"))
    assert wait_for_answer(page) == "done"
    compact_drop = box(page, "#drop-zone")
    assert compact_drop["height"] < empty_drop["height"] / 2
    examples = box(page, ".examples")
    assert examples["height"] <= 60  # the strip is one row of small pictures
    save_screenshot(page, f"result-{device}-{scheme}")
    photo = box(page, "#photo")
    table = box(page, "#detections")
    if device == "desktop":
        assert box(page, "#score_th")["x"] >= photo["x"] + photo["width"]  # beside the photo
        assert table["x"] >= photo["x"] + photo["width"] and inside_viewport(table, viewport)
        page.hover("#detection-rows tr >> nth=1")
    else:
        assert box(page, "#score_th")["y"] >= photo["y"] + photo["height"]  # under it, in the sheet
        assert page.evaluate("getComputedStyle(document.getElementById('settings')).position") == "sticky"
        assert table["y"] >= photo["y"] + photo["height"]
        page.focus("#detection-rows tr")
        page.keyboard.press("ArrowDown")
    # The highlighted box is on screen: the photo did not move away.
    assert inside_viewport(box(page, "#photo"), viewport)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing sticks out
    assert problems.page_errors == [] and problems.console_errors == []
    page.context.close()


# --- 2. boxes that follow a dragged slider ---------------------------------------------------------------------

WATCH_BOXES = """() => {
  window.__changes = [];
  window.__previewDraws = [];
  let last = document.getElementById("overlay").dataset.boxCount;
  new MutationObserver(() => {
    const now = document.getElementById("overlay").dataset.boxCount;
    if (document.body.dataset.status === "preview") window.__previewDraws.push(performance.now());
    if (now !== last) window.__changes.push({ at: performance.now(), count: Number(now), status: document.body.dataset.status });
    last = now;
  }).observe(document.getElementById("overlay"), { attributes: true, attributeFilter: ["data-box-count"] });
  window.__releasedAt = 0;
  window.addEventListener("pointerdown", () => { window.__pressedAt = performance.now(); }, true);
  window.addEventListener("pointerup", () => { window.__releasedAt = performance.now(); }, true);
}"""


def slider_x(page: Page, value: float, slider: str = "#score_th") -> tuple[float, float]:
    """Where on screen a slider's thumb is for `value` (the thumb is ~16 px wide in chromium)."""
    rect = box(page, slider)
    low, high = (float(page.get_attribute(slider, name)) for name in ("min", "max"))
    thumb = 16
    x = rect["x"] + thumb / 2 + (value - low) / (high - low) * (rect["width"] - thumb)
    return x, rect["y"] + rect["height"] / 2


def test_a_dragged_slider_moves_the_boxes_before_release_over_a_slow_link(browser, server):
    """Over a 150 ms round trip a one-second drag of the score slider changes the boxes shown several times before
    the pointer is released: the page asks the server once, at the sliders' floor, and hides boxes of that answer.
    The preview drawn at the end equals the server's answer for those values (asked directly), and after release
    the page draws the server's answer for them."""
    page, problems = new_tab(browser, server.url, DESKTOP)
    path = PHOTOS / "astronaut.jpg"  # many boxes between 0.1 and 0.4 with the default model
    page.fill("#score_th", "0.1")
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    start_count = boxes_drawn(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": ROUND_TRIP_MS, "uploadThroughput": -1, "downloadThroughput": -1},
    )
    page.evaluate(WATCH_BOXES)
    posts_before = len(page.evaluate("window.__posts"))

    x, y = slider_x(page, 0.1)
    page.mouse.move(x, y)
    page.mouse.down()
    target, _ = slider_x(page, 0.35)
    steps = 20
    for step in range(1, steps + 1):
        page.mouse.move(x + (target - x) * step / steps, y)
        page.wait_for_timeout(50)  # a one-second drag
    page.wait_for_timeout(100)
    preview = table_rows(page)
    params = page_params(page)
    during = page.evaluate("window.__posts").copy()[posts_before:]
    page.mouse.up()
    released_at = page.evaluate("window.__releasedAt")
    changes = page.evaluate("window.__changes")
    before_release = [c for c in changes if c["at"] < released_at]
    draws = [t for t in page.evaluate("window.__previewDraws") if t < released_at]
    rate = (len(draws) - 1) / ((draws[-1] - draws[0]) / 1000) if len(draws) > 1 else 0
    print(
        f"drag: {len(before_release)} changes of the boxes shown before release, {len(draws)} preview draws "
        f"({rate:.1f}/s, one per pointer move), the first {draws[0] - page.evaluate('window.__pressedAt'):.0f} ms "
        f"after the press, the release {released_at - page.evaluate('window.__pressedAt'):.0f} ms after it"
    )
    assert len(before_release) >= 2, changes
    assert all(c["status"] == "preview" for c in before_release)
    assert before_release[-1]["count"] < start_count

    # One request during the drag, at the floor: lowest score, most results, by the image's sha256.
    assert len(during) == 1, during
    assert during[0]["score_th"] == page.get_attribute("#score_th", "min")
    assert during[0]["maxResults"] == page.get_attribute("#maxResults", "max")
    assert "image_sha256" in during[0] and "image" not in during[0]

    expected = api_detections(server.url, path, params)["detections"]
    assert preview == as_rows(expected)  # the browser's preview is the server's answer for those values
    assert wait_for_answer(page) == "done"
    assert page.evaluate("window.__posts").copy()[posts_before + 1]["score_th"] == params["score_th"]
    assert table_rows(page) == as_rows(expected) and boxes_drawn(page) == len(expected)

    # A second drag of the score slider reuses the floor's answer: nothing is asked until the release.
    posts_before = len(page.evaluate("window.__posts"))
    drag_slider(page, "#score_th", 0.35, 0.2)
    assert len(page.evaluate("window.__posts")) == posts_before
    assert page.evaluate("document.body.dataset.status") == "preview"
    preview = table_rows(page)
    page.mouse.up()
    assert wait_for_answer(page) == "done"
    assert len(page.evaluate("window.__posts")) == posts_before + 1 and table_rows(page) == preview
    assert problems.page_errors == [] and problems.console_errors == []
    page.context.close()


def drag_slider(page: Page, slider: str, start: float, end: float, steps: int = 10) -> None:
    """Press the slider's thumb at `start` and move to `end` (the pointer stays pressed)."""
    x, y = slider_x(page, start, slider)
    target, _ = slider_x(page, end, slider)
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, steps + 1):
        page.mouse.move(x + (target - x) * step / steps, y)
        page.wait_for_timeout(30)


def test_a_dragged_overlap_slider_waits_for_the_server(browser, server):
    """The overlap needs the server's merging: no preview and nothing asked while it is dragged, the boxes are
    greyed as stale, and the release brings the server's answer."""
    page, problems = new_tab(browser, server.url, DESKTOP)
    path = PHOTOS / "astronaut.jpg"
    page.fill("#score_th", "0.1")
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    posts_before = len(page.evaluate("window.__posts"))
    drag_slider(page, "#nms_iou", 0.4, 0.9)
    assert len(page.evaluate("window.__posts")) == posts_before
    assert page.evaluate("document.body.dataset.status") == "busy"
    page.mouse.up()
    assert wait_for_answer(page) == "done"
    assert len(page.evaluate("window.__posts")) == posts_before + 1
    expected = api_detections(server.url, path, page_params(page))["detections"]
    assert table_rows(page) == as_rows(expected)
    assert problems.page_errors == [] and problems.console_errors == []
    page.context.close()


# --- 3. switching models ---------------------------------------------------------------------------------------


def test_a_model_switch_on_a_new_image_sends_the_bytes_at_once_and_names_the_model(browser, server, models):
    """The other model has not seen the image: its bytes go at once (no 404, no console error), and the header
    shows the chosen model's title and family."""
    page, problems = new_tab(browser, server.url, DESKTOP)
    statuses = []
    page.on("response", lambda r: r.url.endswith("/api/predict") and statuses.append(r.status))
    other = next(m for m in models["models"] if m["name"] != models["default"])
    page.set_input_files("#file-input", str(PHOTOS / "coffee.jpg"))
    assert wait_for_answer(page) == "done"
    page.select_option("#model", other["name"])
    assert wait_for_answer(page) == "done"
    posts = page.evaluate("window.__posts")
    assert len(posts) == 2 and posts[1]["model"] == other["name"] and "image" in posts[1]  # bytes, not a sha256
    assert statuses == [200, 200]
    assert page.text_content("#model-name") == other["title"]
    assert f"{other['family'].upper()} family" in page.text_content("#model-details")
    expected = api_detections(server.url, PHOTOS / "coffee.jpg", page_params(page) | {"model": other["name"]})
    assert boxes_drawn(page) == len(expected["detections"])

    page.select_option("#model", models["default"])  # seen before: by sha256 this time
    assert wait_for_answer(page) == "done"
    assert "image_sha256" in page.evaluate("window.__posts")[-1]
    assert statuses == [200, 200, 200]
    assert problems.console_errors == [] and problems.page_errors == []
    page.context.close()


# --- 5. two models on one photo --------------------------------------------------------------------------------


def test_two_models_compared_on_one_photo_each_answer_asked_once(browser, server, models):
    page, problems = new_tab(browser, server.url, DESKTOP)
    other = next(m for m in models["models"] if m["name"] != models["default"])
    path = PHOTOS / "astronaut.jpg"
    page.set_input_files("#file-input", str(path))
    assert wait_for_answer(page) == "done"
    page.select_option("#compare-model", other["name"])
    wait_until(page, "() => /object/.test(document.getElementById('compare-label').textContent)", timeout=20)
    posts = page.evaluate("window.__posts")
    assert len(posts) == 2 and posts[1]["model"] == other["name"] and "image" in posts[1]
    params = page_params(page)
    compare_expected = api_detections(server.url, path, params | {"model": other["name"]})["detections"]
    assert int(page.get_attribute("#compare-overlay", "data-box-count")) == len(compare_expected)
    assert page.locator("#compare-photo").is_visible() and page.locator("#photo").is_visible()
    assert box(page, "#compare-photo")["x"] > box(page, "#photo")["x"]  # side by side
    assert other["title"] in page.text_content("#compare-label")

    # New settings: each model asked once, by the image's sha256.
    page.fill("#score_th", "0.5")
    assert wait_for_answer(page) == "done"
    wait_until(
        page, "() => window.__posts.length >= 4 && !document.getElementById('compare-view').hasAttribute('aria-busy')"
    )
    page.wait_for_timeout(300)
    later = page.evaluate("window.__posts")[2:]
    assert sorted(post.get("model", models["default"]) for post in later) == sorted([models["default"], other["name"]])
    assert all("image_sha256" in post and "image" not in post for post in later)
    params = page_params(page)
    for model, overlay in ((models["default"], "#overlay"), (other["name"], "#compare-overlay")):
        expected = api_detections(server.url, path, params | {"model": model})["detections"]
        assert int(page.get_attribute(overlay, "data-box-count")) == len(expected), model
    save_screenshot(page, "compare")

    page.select_option("#compare-model", "")
    assert page.locator("#compare-view").is_hidden()
    assert problems.console_errors == [] and problems.page_errors == []
    page.context.close()


# --- 4. ready before it looks ready ----------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_no_layout_shift_on_a_slow_first_load(browser, server, device):
    """At 400 kbit/s with 400 ms latency, nothing moves once shown: cumulative layout shift <= 0.1."""
    settings = DESKTOP if device == "desktop" else PHONE
    context = browser.new_context(**settings)
    page = context.new_page()
    page.add_init_script(RECORD_LAYOUT_SHIFTS)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 400, "downloadThroughput": 50_000, "uploadThroughput": 50_000},
    )
    open_page(page, server.url)
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)
    cls = page.evaluate("window.__cls")
    print(f"{device}: CLS {cls:.4f}")
    assert cls <= 0.1
    context.close()


def test_clicks_before_the_scripts_have_run_are_not_lost(browser, server):
    """With the page's main script held back, a click on an example is kept (marked busy) and done once the
    script runs; a click on the drop zone opens the file picker at once."""
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    problems = watch_page(page)
    held = []
    script = re.escape(PAGE_BUNDLE.removesuffix(".js"))  # the one script the page loads, by any hash
    page.route(re.compile(rf".*/static/{script}(\.[0-9a-f]+)?\.js$"), lambda route: held.append(route))
    page.goto(server.url, wait_until="commit")
    example = EXAMPLES[1]
    button = page.get_by_role("button", name=example.title)
    button.wait_for(state="visible")
    wait_until(page, "() => Boolean(window.earlyInput)")
    with page.expect_file_chooser(timeout=5_000):
        page.click("#drop-zone")
    button.click()
    assert button.get_attribute("aria-busy") == "true"
    assert page.evaluate("document.body.dataset.status") == "loading"
    page.wait_for_timeout(300)
    assert held, "the page never asked for its script"
    for route in held:
        route.continue_()
    assert wait_for_answer(page) == "done"
    assert page.text_content("#file-name") == example.file
    assert boxes_drawn(page) >= 1
    assert problems.page_errors == []
    context.close()


# --- 6. the small touches --------------------------------------------------------------------------------------


def test_touch_targets_are_44_px_on_a_phone(browser, server):
    page, _ = new_tab(browser, server.url, PHONE)
    page.set_input_files("#file-input", str(PHOTOS / "coffee.jpg"))
    assert wait_for_answer(page) == "done"
    page.click("#more-settings-toggle")
    page.click("#code-panel summary")
    small = page.evaluate(
        """(minimum) => [...document.querySelectorAll('button, a, select, input, summary, [tabindex="0"]')]
          .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== "hidden")
          .filter((e) => e.tagName !== "PRE" && !(e.tagName === "A" && e.closest("p")))  // inline links in a sentence
          .map((e) => { const r = e.getBoundingClientRect();
                        return [e.id || e.tagName + ":" + e.textContent.trim().slice(0, 20), Math.round(r.width), Math.round(r.height)]; })
          .filter(([, w, h]) => w < minimum - 0.5 || h < minimum - 0.5)""",
        TOUCH_TARGET_PX,
    )
    assert small == []
    page.context.close()


def test_slider_values_are_said_once_and_messages_are_plain(browser, server, models):
    """The value beside a slider is hidden from screen readers (the slider says it); no live region repeats it.
    A class filter that finds nothing says so; the header speaks of kinds of objects, not input sizes."""
    page, _ = new_tab(browser, server.url, DESKTOP)
    for parameter in PARAMETERS:
        value = page.locator(f"#{parameter.name}-value")
        assert value.get_attribute("aria-hidden") == "true"
        assert page.get_attribute(f"#{parameter.name}", "aria-valuetext") == value.text_content()
    assert page.locator(".slider [aria-live], .slider output, .slider [role=status]").count() == 0
    page.fill("#score_th", "0.55")
    assert page.get_attribute("#score_th", "aria-valuetext") == "0.55"
    details = page.text_content("#model-details")
    assert "kinds of objects" in details and "input" not in details and "×" not in details

    page.set_input_files("#file-input", str(PHOTOS / "coffee.jpg"))
    assert wait_for_answer(page) == "done"
    page.fill("#class-search", "giraffe")
    page.press("#class-search", "Enter")
    assert wait_for_answer(page) == "done"
    summary = page.text_content("#summary")
    assert "No giraffe found" in summary and "all kinds" in summary
    page.context.close()


def test_a_failed_example_offers_retry(browser, server):
    page, problems = new_tab(browser, server.url, DESKTOP)
    coffee = re.compile(r".*/static/examples/coffee(\.[0-9a-f]+)?\.jpg$")  # by any hash
    page.route(coffee, lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="Espresso cup").click()
    page.wait_for_selector("#message:has-text('could not be loaded')")
    assert page.locator("#retry").is_visible()
    page.unroute(coffee)
    page.click("#retry")
    assert wait_for_answer(page) == "done"
    assert page.text_content("#file-name") == "coffee.jpg" and page.locator("#message").is_hidden()
    assert problems.page_errors == []
    page.context.close()


def test_gallery_pictures_show_their_boxes(browser, server):
    page, _ = new_tab(browser, server.url, DESKTOP)
    palette = requests.get(f"{server.url}/api/model", timeout=10).json()["palette"]
    page.set_input_files("#file-input", [str(PHOTOS / "astronaut.jpg"), str(PHOTOS / "grace_hopper.jpg")])
    page.wait_for_selector('#gallery[data-done="2"]', state="attached", timeout=30_000)
    wait_until(page, "() => document.querySelectorAll('#gallery-list canvas.thumbnail').length === 2")
    person = list(hex_rgb(palette[0]))
    coloured = page.evaluate(
        """(colour) => [...document.querySelectorAll('#gallery-list canvas.thumbnail')].map((canvas) => {
          const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          let hits = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (Math.abs(data[i] - colour[0]) + Math.abs(data[i + 1] - colour[1]) + Math.abs(data[i + 2] - colour[2]) < 20) hits++;
          }
          return hits; })""",
        person,
    )
    assert all(hits > 50 for hits in coloured), coloured  # a person's box in each
    page.context.close()


def test_with_info_requires_token_the_page_names_no_model_until_the_token_is_in(browser):
    env = {"API_TOKENS": "s3cret", "INFO_REQUIRES_TOKEN": "true", "MODELS": "deimv2_femto,yolox_nano"}
    with gunicorn_server(env=env, workers=1) as locked:
        html = requests.get(locked.url, timeout=10).text
        listed = requests.get(f"{locked.url}/api/models", headers={"X-Api-Token": "s3cret"}, timeout=10).json()
        for model in listed["models"]:
            assert model["name"] not in html and model["title"] not in html
        assert "data-defaults" not in html
        for parameter in PARAMETERS:  # the sliders show the declaration's defaults, not a model's
            assert f'data-default="{parameter.default}"' in html

        context = browser.new_context(**DESKTOP)
        page = context.new_page()
        problems = watch_page(page)
        page.goto(locked.url)
        page.wait_for_selector('body[data-status="idle"]', state="attached")
        page.wait_for_timeout(300)
        assert problems.console_errors == []  # nothing asked without the token
        page.fill("#api-token", "s3cret")
        page.press("#api-token", "Enter")
        default = next(m for m in listed["models"] if m["default"])
        page.wait_for_selector("#model-details:not(:empty)", state="attached")
        assert page.text_content("#model-name") == default["title"]
        assert page.locator("#model option").count() == len(listed["models"])
        page.set_input_files("#file-input", str(PHOTOS / "astronaut.jpg"))
        assert wait_for_answer(page) == "done"
        assert boxes_drawn(page) >= 1
        context.close()


def test_labels_of_boxes_close_together_do_not_cover_each_other(browser, server):
    """Three boxes with the same top-left corner (as a camera's nearby objects): three labels, none over another."""
    page, _ = new_tab(browser, server.url, DESKTOP)
    places = page.evaluate(
        """async () => {
          const { labelPlaces } = await import("./static/draw.js");
          const ctx = document.createElement("canvas").getContext("2d");
          ctx.font = "600 12px sans-serif";
          const detections = [0.9, 0.8, 0.7].map((score) => ({ class_name: "cup", score, box: [100, 100, 200, 160] }));
          return labelPlaces(ctx, detections, detections.map((d) => d.box), 12, 416, 416);
        }"""
    )
    assert len(places) == 3
    for i, a in enumerate(places):
        for b in places[i + 1 :]:
            apart = a["top"] + a["height"] <= b["top"] or b["top"] + b["height"] <= a["top"]
            assert apart or a["left"] + a["width"] <= b["left"] or b["left"] + b["width"] <= a["left"], (a, b)
    page.context.close()
