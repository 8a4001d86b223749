"""The page's two interactions on an emulated link, timed in the page: a dragged score slider and a model switch.

Shared by `tools/bench_page_network.py` (`--part drag`, `--part switch`). Any version of the page will do that
draws its boxes into #overlay, setting `data-box-count` at each draw, and sets body[data-status] to "done" once
an answer is drawn (both the old page and the result-first one do).

- Drag: the score slider's thumb pressed and moved by the pointer at POINTER_HZ for DRAG_S, over a link with a
  round trip of --drag-latency-ms; counted are the overlay's draws between press and release (each draw sets
  data-box-count, whether or not the count changed), the changes of the count shown, the delay to the first
  draw, and the time from release to the server's answer drawn.
- Switch: an image the server has never seen (fresh bytes each run) answered by the default model; then, over
  --kbit/--visit-latency-ms, the other model chosen: the time from the choice (the select's `change`) to its
  boxes drawn, and the /api/predict answers' statuses on the way (a 404 is a round trip lost).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page

from tools.browser_helpers import open_page, wait_for_answer

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
POINTER_HZ = 60  # a display's rate: the most a drag can show
DRAG_S = 1.0
DRAG_FROM, DRAG_TO = 0.1, 0.5  # score: the drag photo has many boxes between
THUMB_PX = 16  # chromium's range thumb, for where a value is on screen
ANSWER_TIMEOUT_S = 60.0

# In the page: every overlay draw and every status, on the page's clock.
WATCH = """() => {
  const overlay = document.getElementById("overlay");
  window.__draws = [[performance.now(), Number(overlay.dataset.boxCount)]]; // what is shown now, then each draw
  window.__statuses = [];
  window.__input = {};
  new MutationObserver((records) => {
    for (const _ of records) window.__draws.push([performance.now(), Number(overlay.dataset.boxCount)]);
  }).observe(overlay, { attributes: true, attributeFilter: ["data-box-count"] });
  new MutationObserver(() => window.__statuses.push([performance.now(), document.body.dataset.status]))
    .observe(document.body, { attributes: true, attributeFilter: ["data-status"] });
  window.__moves = [];
  document.addEventListener("pointermove", () => window.__moves.push(performance.now()), true);
  for (const kind of ["pointerdown", "pointerup", "change"]) {
    document.addEventListener(kind, (event) => {
      if (kind !== "change" || event.target.id === "model") window.__input[kind] = performance.now();
    }, true);
  }
}"""


@dataclass
class Drag:
    draws: int = 0  # overlay draws between press and release
    changes: int = 0  # of those, the ones that changed the number of boxes shown
    pressed_s: float = float("nan")  # press to release
    first_draw_ms: float = float("nan")  # press to the first draw
    release_to_done_s: float = float("nan")  # release to the server's answer for the final value drawn
    pointer_moves: int = 0  # pointermove events the page saw between press and release

    @property
    def draws_per_s(self) -> float:
        return self.draws / self.pressed_s if self.pressed_s else float("nan")

    @property
    def moves_per_s(self) -> float:
        return self.pointer_moves / self.pressed_s if self.pressed_s else float("nan")


@dataclass
class Switch:
    seconds: float = float("nan")  # the other model chosen -> its boxes drawn
    statuses: list[int] = field(default_factory=list)  # /api/predict answers on the way
    console_errors: int = 0


def emulate(page: Page, latency_ms: float, kbit: float | None = None) -> None:
    """DevTools' network emulation on this tab: `latency_ms` per request, `kbit` both ways (None: unlimited)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    rate = kbit * 1000 / 8 if kbit else -1
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency_ms, "downloadThroughput": rate, "uploadThroughput": rate},
    )


def slider_x(page: Page, value: float, slider: str = "#score_th") -> tuple[float, float]:
    """Where on screen a slider's thumb is for `value`."""
    rect = page.locator(slider).bounding_box()
    low, high = (float(page.get_attribute(slider, name)) for name in ("min", "max"))
    x = rect["x"] + THUMB_PX / 2 + (value - low) / (high - low) * (rect["width"] - THUMB_PX)
    return x, rect["y"] + rect["height"] / 2


def answered(page: Page, after: float) -> str:
    """Wait until body[data-status] is "done" or "error" at a time after `after` (page clock); which one."""
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while time.monotonic() < deadline:
        for at, status in page.evaluate("window.__statuses"):
            if at > after and status in ("done", "error"):
                return status
        page.wait_for_timeout(20)
    raise TimeoutError("no answer drawn")


def drag_score(browser: Browser, url: str, photo: Path, latency_ms: float) -> Drag:
    """Choose `photo` at the lowest score, then drag the score slider up for DRAG_S with a `latency_ms` link."""
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    open_page(page, url)
    page.fill("#score_th", str(DRAG_FROM))
    page.set_input_files("#file-input", str(photo))
    if wait_for_answer(page) != "done":
        raise SystemExit(f"the page showed an error: {page.text_content('#message')}")
    emulate(page, latency_ms)
    page.evaluate(WATCH)
    x, y = slider_x(page, DRAG_FROM)
    target, _ = slider_x(page, DRAG_TO)
    page.mouse.move(x, y)
    page.mouse.down()
    moves = round(DRAG_S * POINTER_HZ)
    started = time.monotonic()
    for move in range(1, moves + 1):
        time.sleep(max(0.0, started + move / POINTER_HZ - time.monotonic()))
        page.mouse.move(x + (target - x) * move / moves, y)
    page.mouse.up()
    marks = page.evaluate("window.__input")
    pressed, released = marks["pointerdown"], marks["pointerup"]
    moved = sum(1 for at in page.evaluate("window.__moves") if pressed <= at <= released)
    drag = Drag(pointer_moves=moved, pressed_s=(released - pressed) / 1000)
    if answered(page, released) == "done":
        done_at = next(at for at, status in page.evaluate("window.__statuses") if at > released and status == "done")
        drag.release_to_done_s = (done_at - released) / 1000
    draws = page.evaluate("window.__draws")
    during = [(at, count) for at, count in draws if pressed <= at <= released]
    shown = [count for at, count in draws if at < pressed][-1:] + [count for _, count in during]
    drag.draws = len(during)
    drag.changes = sum(1 for a, b in itertools.pairwise(shown) if a != b)
    if during:
        drag.first_draw_ms = during[0][0] - pressed
    context.close()
    return drag


def switch_model(browser: Browser, url: str, photo: Path, other: str, kbit: float, latency_ms: float) -> Switch:
    """Choose `photo` (new to the server), then, over the slow link, the model `other`; until its boxes are drawn."""
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    open_page(page, url)
    page.set_input_files("#file-input", str(photo))
    if wait_for_answer(page) != "done":
        raise SystemExit(f"the page showed an error: {page.text_content('#message')}")
    emulate(page, latency_ms, kbit)
    page.evaluate(WATCH)
    errors.clear()
    result = Switch()
    page.on("response", lambda r: r.url.endswith("/api/predict") and result.statuses.append(r.status))
    page.select_option("#model", other)
    chosen = page.evaluate("window.__input.change")
    if answered(page, chosen) == "done":
        done_at = next(at for at, status in page.evaluate("window.__statuses") if at > chosen and status == "done")
        result.seconds = (done_at - chosen) / 1000
    page.wait_for_timeout(200)  # the last response event
    result.console_errors = len(errors)
    context.close()
    return result
