"""The upload part of tools/bench_page_network.py (`--part upload`): a fresh phone photo chosen on a throttled
link, then slider steps, against the old page's way of sending the original file (see that tool's docstring)."""

from __future__ import annotations

import argparse
import base64
import re
import statistics
import tempfile
from pathlib import Path

import requests
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from tools.browser_helpers import launch_chromium, open_page, wait_for_answer
from tools.measure_upload_shrink import page_constant, phone_photo
from tools.servers import gunicorn_server

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ["astronaut.jpg", "coffee.jpg", "motorcycle_left.jpg", "grace_hopper.jpg", "chelsea.png"]
PHOTO_NOISE = 5  # grey levels of sensor-like noise: 12 MP JPEGs of 2.7-3.0 MB (what phones take)
TARGET_FIRST_S = 1.5  # a photo's first answer over the slow link, in seconds
TARGET_STEP_S = 0.4

STOPWATCH = """
window.__marks = [];
document.addEventListener("change", (event) => {
  if (event.target.id === "file-input") window.__marks.push(["chosen", performance.now()]);
}, true);
document.addEventListener("input", (event) => {
  if (event.target.type === "range") window.__marks.push(["moved", performance.now()]);
}, true);
new MutationObserver(() => {
  if (document.body?.dataset.status === "done") window.__marks.push(["done", performance.now()]);
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-status"] });
"""

# The old page's request: the original file as it is, in a multipart form.
POST_ORIGINAL = """async ([b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const form = new FormData();
  form.append("image", new File([bytes], name, { type: "image/jpeg" }));
  const started = performance.now();
  const response = await fetch("api/predict", { method: "POST", body: form });
  await response.json();
  return performance.now() - started;
}"""

# The browser's own cost of decoding and shrinking, with the page's module.
TIME_SHRINK = """async ([b64, side]) => {
  const { prepareUpload } = await import("./static/shrink.js");
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const started = performance.now();
  const upload = await prepareUpload(new File([bytes], "x.jpg", { type: "image/jpeg" }), side);
  return [performance.now() - started, upload.blob.size];
}"""


def elapsed(page: Page, start: str) -> float:
    """Seconds from the last `start` mark to the first "done" after it."""
    marks = page.evaluate("window.__marks")
    begin = max(i for i, (kind, _) in enumerate(marks) if kind == start)
    done = next(t for kind, t in marks[begin:] if kind == "done")
    return (done - marks[begin][1]) / 1000


def page_phases(page: Page) -> dict[str, float]:
    """Seconds between the page's own performance marks for the last image: prepare, ask, draw."""
    marks = {
        m["name"]: m["startTime"]
        for m in page.evaluate(
            "performance.getEntriesByType('mark').map((m) => ({name: m.name, startTime: m.startTime}))"
        )
    }
    between = lambda a, b: (marks[f"page:{b}"] - marks[f"page:{a}"]) / 1000
    return {
        "prepare": between("image-chosen", "upload-ready"),
        "ask": between("upload-ready", "answer-received"),
        "draw": between("answer-received", "boxes-drawn"),
    }


def throttle(page: Page, mbit: float, latency_ms: float):
    """The DevTools network emulation on this tab (bytes per second both ways)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    rate = mbit * 1e6 / 8
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency_ms, "downloadThroughput": rate, "uploadThroughput": rate},
    )
    return cdp


def one_run(browser, url: str, photo: Path, args: argparse.Namespace, run: int) -> dict:
    """Choose the photo, move the slider; the page's timings, POST sizes and the baseline POST."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(STOPWATCH)
    posts: list[int] = []
    page.on(
        "requestfinished", lambda r: r.method == "POST" and posts.append(int(r.all_headers().get("content-length", 0)))
    )
    open_page(page, url)
    throttle(page, args.mbit, args.latency_ms)
    page.set_input_files("#file-input", str(photo))
    if wait_for_answer(page) != "done":
        raise SystemExit(f"the page showed an error: {page.text_content('#message')}")
    first = elapsed(page, "chosen")
    phases = page_phases(page)
    first_network = float(page.get_attribute("#transfer", "data-network-ms")) / 1000
    first_server = float(page.get_attribute("#transfer", "data-server-ms")) / 1000
    steps, steps_server = [], []
    for step in range(args.steps):
        page.fill("#score_th", f"{0.35 + 0.1 * ((run + step) % 5):.2f}")
        if wait_for_answer(page) != "done":
            raise SystemExit(f"the page showed an error: {page.text_content('#message')}")
        steps.append(elapsed(page, "moved"))
        steps_server.append(float(page.get_attribute("#transfer", "data-server-ms")) / 1000)
    page.wait_for_timeout(200)  # the last requestfinished event
    page_posts = list(posts)
    data = base64.b64encode(photo.read_bytes()).decode()
    baseline = page.evaluate(POST_ORIGINAL, [data, photo.name]) / 1000
    shrink_ms, _ = page.evaluate(TIME_SHRINK, [data, args.upload_side])
    context.close()
    return {
        "first": first,
        "first_network": first_network,
        "first_server": first_server,
        **phases,
        "steps": steps,
        "steps_server": steps_server,
        "posts": page_posts,
        "baseline": baseline,
        "shrink": shrink_ms / 1000,
        "file_bytes": photo.stat().st_size,
    }


def debounce_seconds() -> float:
    """How long controls.js waits for a slider to stop before asking (its one declaration)."""
    found = re.search(r"delayMs = (\d+)", (ROOT / "webapp" / "static" / "controls.js").read_text())
    return int(found.group(1)) / 1000 if found else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def measure_upload(args: argparse.Namespace) -> None:
    """A fresh phone photo per run, then slider steps; against the old page's way of sending it."""
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        photos = []
        for run in range(args.runs + 1):  # one more for the warm-up: no run's photo may be in the server's cache
            with Image.open(ROOT / "tests" / "data" / "photos" / PHOTOS[run % len(PHOTOS)]) as image:
                path = Path(folder) / f"run{run}-{PHOTOS[run % len(PHOTOS)].rsplit('.', 1)[0]}.jpg"
                path.write_bytes(phone_photo(image, args.megapixels, seed=1000 + run, noise=PHOTO_NOISE))
                photos.append(path)
        env = {"WEB_CONCURRENCY": str(args.workers)} if args.workers else None
        with gunicorn_server(env=env, workers=args.workers or 2) as server:
            model = requests.get(f"{server.url}/api/model", timeout=10).json()
            args.upload_side = round(page_constant("SIDE_PER_INPUT_SIDE") * max(model["input_size"].values()))
            browser = launch_chromium(playwright)
            one_run(browser, server.url, photos[-1], args, 0)  # warm-up: first-use costs of browser and workers
            results = [one_run(browser, server.url, photo, args, run) for run, photo in enumerate(photos[:-1])]
            browser.close()
    report(results, args, model["name"])


def report(results: list[dict], args: argparse.Namespace, model: str) -> None:
    """One table: page vs the old page's way, medians over runs (steps: over every step of every run)."""
    steps = [s for r in results for s in r["steps"]]
    first_posts = [r["posts"][0] for r in results]
    step_posts = [p for r in results for p in r["posts"][1:]]
    print(
        f"{args.runs} runs, {args.steps} slider steps each, {args.megapixels:g} MP JPEGs (median "
        f"{median([r['file_bytes'] for r in results]) / 1e6:.2f} MB), link {args.mbit:g} Mbit/s up and down, "
        f"{args.latency_ms:g} ms latency, model {model}, upload side {args.upload_side} px"
    )
    print(f"{'':44} {'median':>8} {'min':>8} {'max':>8} {'target':>8}")
    rows = [
        ("photo chosen -> boxes drawn (s)", [r["first"] for r in results], TARGET_FIRST_S),
        ("  decode + shrink in the page (s)", [r["prepare"] for r in results], None),
        ("  request, answer received (s)", [r["ask"] for r in results], None),
        ("    of which network (s)", [r["first_network"] for r in results], None),
        ("    of which server (s)", [r["first_server"] for r in results], None),
        ("  boxes drawn (s)", [r["draw"] for r in results], None),
        ("decode + shrink alone, page idle (s)", [r["shrink"] for r in results], None),
        ("slider step -> boxes redrawn (s)", steps, TARGET_STEP_S),
        ("  of which the sliders' debounce (s)", [debounce_seconds()] * len(steps), None),
        ("  of which server (s)", [s for r in results for s in r["steps_server"]], None),
        ("baseline: original file POSTed as is (s)", [r["baseline"] for r in results], None),
        ("first POST (KB)", [p / 1024 for p in first_posts], 1000 / 1.024),
        ("slider POST (KB)", [p / 1024 for p in step_posts], 4.0),
    ]
    for name, values, target in rows:
        target_text = f"<= {target:.3g}" if target else ""
        print(f"{name:44} {median(values):8.3f} {min(values):8.3f} {max(values):8.3f} {target_text:>8}")
    baseline = median([r["baseline"] for r in results])
    print(
        f"ratios to the baseline: first answer {median([r['first'] for r in results]) / baseline:.2f}x, "
        f"slider step {median(steps) / baseline:.2f}x"
    )
