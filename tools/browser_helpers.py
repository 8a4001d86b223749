"""Helpers for the browser tests: launching Debian's chromium, driving the upload page, asking the API."""

from __future__ import annotations

import base64
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from playwright.sync_api import Browser, Page, Playwright

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "tests" / "data" / "photos"
# Browser tests' screenshots: docs/screenshots/ when refreshing them (UPDATE_SCREENSHOTS=1), else test-artifacts/.
UPDATING_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = ROOT / ("docs" if UPDATING_SCREENSHOTS else "test-artifacts") / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RESULT_TIMEOUT_MS = 30_000

# Injected before the page's own scripts (Playwright bypasses the CSP for it) to record CSP violations.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def launch_chromium(playwright: Playwright, extra_args: list[str] | tuple[str, ...] = ()) -> Browser:
    """Debian's chromium, headless, without network chatter of its own (`extra_args`: e.g. a fake camera)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])


@dataclass
class PageProblems:
    """Everything that went wrong in a page: console errors, uncaught exceptions, dialogs."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def watch_page(page: Page) -> PageProblems:
    """Record console errors/warnings, uncaught errors and dialogs (dismissing them)."""
    problems = PageProblems()
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            problems.console_errors.append(f"{message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))

    def on_dialog(dialog) -> None:
        problems.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return problems


def open_page(page: Page, url: str) -> None:
    """Load the upload page and wait until its script has run and the model's palette is known."""
    page.goto(url)
    # CSS selectors, not wait_for_function: the page's CSP forbids the eval that polling functions use.
    page.wait_for_selector('body[data-status="idle"]', state="attached")
    page.wait_for_selector("#model-details:not(:empty)", state="attached")


def wait_for_answer(page: Page) -> str:
    """Wait until the page has shown the newest answer; returns "done" or "error"."""
    page.wait_for_selector(
        'body[data-status="done"], body[data-status="error"]', state="attached", timeout=RESULT_TIMEOUT_MS
    )
    return page.evaluate("document.body.dataset.status")


def wait_until(page: Page, function: str, argument=None, timeout: float = 10.0) -> None:
    """Poll a JS function (page.evaluate is CSP-proof) until it returns true."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(function, argument):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout}s: {function}")
        page.wait_for_timeout(50)


def boxes_drawn(page: Page) -> int:
    """How many boxes the overlay says it drew."""
    return int(page.get_attribute("#overlay", "data-box-count"))


def listed_classes(page: Page) -> list[str]:
    """Class names in the detection list, in order."""
    return page.locator("#detection-rows tr td.class-cell").all_text_contents()


def page_params(page: Page) -> dict[str, str]:
    """The API parameters the sliders currently stand for."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('input[type="range"][data-param]')]
                                     .map((slider) => [slider.dataset.param, slider.value]))"""
    )


def api_detections(base_url: str, path: Path, params: dict[str, str]) -> dict:
    """The API's own answer (first slot) for the same file and parameters."""
    with path.open("rb") as image:
        response = requests.post(f"{base_url}/api/predict", files={"image": image}, data=params, timeout=30)
    response.raise_for_status()
    return response.json()["responses"][0]


def drop_file(page: Page, path: Path, target: str = "#drop-zone") -> None:
    """Drag-and-drop a file onto `target`: a DataTransfer built in the page from the file's bytes."""
    page.evaluate(
        """([b64, name, type, target]) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name, {type}));
          const element = document.querySelector(target);
          for (const kind of ["dragenter", "dragover", "drop"]) {
            element.dispatchEvent(new DragEvent(kind, {bubbles: true, cancelable: true, dataTransfer: transfer}));
          }
        }""",
        [base64.b64encode(path.read_bytes()).decode(), path.name, "image/jpeg", target],
    )


def paste_file(page: Page, path: Path) -> None:
    """Paste a file as a clipboard paste event carrying it would."""
    page.evaluate(
        """([b64, name]) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name, {type: "image/jpeg"}));
          document.dispatchEvent(new ClipboardEvent("paste", {bubbles: true, cancelable: true, clipboardData: transfer}));
        }""",
        [base64.b64encode(path.read_bytes()).decode(), path.name],
    )


def overlay_pixel_near(
    page: Page, image_x: float, image_y: float, image_width: int, radius: int = 2
) -> list[list[int]]:
    """RGBA pixels of the overlay around a point given in original-image pixels."""
    return page.evaluate(
        """([x, y, imageWidth, radius]) => {
          const canvas = document.getElementById("overlay");
          const scale = canvas.width / imageWidth;
          const cx = Math.round(x * scale), cy = Math.round(y * scale);
          const data = canvas.getContext("2d").getImageData(cx - radius, cy - radius, 2 * radius + 1, 2 * radius + 1).data;
          const pixels = [];
          for (let i = 0; i < data.length; i += 4) pixels.push([data[i], data[i + 1], data[i + 2], data[i + 3]]);
          return pixels;
        }""",
        [image_x, image_y, image_width, radius],
    )


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """ "#rrggbb" -> (r, g, b)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def colour_distance(pixel: list[int] | tuple[int, ...], colour: tuple[int, int, int]) -> int:
    """Largest per-channel difference between a pixel and an RGB colour."""
    return max(abs(int(pixel[i]) - colour[i]) for i in range(3))


def save_screenshot(page: Page, name: str) -> Path:
    """The viewport as a small palette PNG in SCREENSHOTS."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    path = SCREENSHOTS / f"{name}.png"
    shot.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path
