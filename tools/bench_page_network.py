"""The page on a slow link: visits (first, repeat, /docs), a dragged slider, a model switch, a phone photo chosen.

    .venv/bin/python -m tools.bench_page_network [--part all|visits|drag|switch|upload] [--before-root ../old ...]
        [--visit-runs 3] [--kbit 400] [--visit-latency-ms 400] [--page-runs 5] [--drag-latency-ms 150]
        [--runs 5] [--mbit 10] [--latency-ms 40] [--steps 4]

Visits (`--part visits`, tools/page_visits.py): a new visitor opens the page on a --kbit link with
--visit-latency-ms per request and clicks the first example as soon as it shows, again every 50 ms until the
page takes the click (asks for the photo); then the same visitor comes back (a new tab, the browser's cache
kept); then a new visitor opens /docs until Swagger UI has rendered.

Drag and switch (`--part drag`, `--part switch`, tools/page_interactions.py; a server with two models): the score
slider dragged for a second by a pointer moving at a display's 60 Hz over a link with a --drag-latency-ms round
trip, counting the boxes redrawn before release; and, on a photo the server has not seen, the other model chosen
over the --kbit/--visit-latency-ms link, timed until its boxes are drawn.

With --before-root (repeatable), visits, drag and switch are also measured against a server started from that
checkout (e.g. an older commit's worktree, its .venv or this one's), one column each, for a before/after table.

Upload (`--part upload`, tools/page_upload.py):

Real gunicorn (the Procfile's command, one worker per core) and Debian's chromium; Chrome DevTools' network
emulation (Network.emulateNetworkConditions) gives the page a link of --mbit up and down with --latency-ms.
Each run chooses a fresh 12 MP JPEG (a labelled photo scaled up with sensor-like noise, 2.7-3 MB like a phone's;
fresh bytes every run, so the server's cache never has it) and then moves the score slider --steps times.
Times are taken in the page (performance.now): from the file input's `change` (or the slider's `input`, so
the page's 150 ms debounce counts) to body[data-status="done"], set once the boxes are drawn.

Baseline, measured in the same run on the same link: the original file POSTed as it is, which is what the
page did before (for the photo, and again for every slider step).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
from tools.browser_helpers import launch_chromium
from tools.measure_upload_shrink import phone_photo
from tools.page_interactions import DRAG_FROM, DRAG_TO, POINTER_HZ, Drag, Switch, drag_score, switch_model
from tools.page_upload import measure_upload, median
from tools.page_visits import Visit, visit_docs, visit_page
from tools.servers import RunningServer, free_port, gunicorn_server, stop, wait_ready

TARGET_FIRST_USABLE_S = 3.0  # a new visitor at 400 kbit/s, 400 ms
TARGET_REPEAT_USABLE_S = 1.5
TARGET_DOCS_S = 10.0
TWO_MODELS = {"MODELS": "deimv2_femto,yolox_nano"}  # drag and switch: the default model and another
DRAG_PHOTO = "astronaut.jpg"  # many boxes between the drag's scores
SWITCH_PHOTO = "coffee.jpg"  # made new for each run (sensor-like noise), so no model has seen it
SWITCH_MEGAPIXELS = 2.0

# Page-side clocks: when the user acted, and when the page said it was done.


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["all", "visits", "drag", "switch", "upload"], default="all")
    parser.add_argument("--visit-runs", type=int, default=3)
    parser.add_argument("--kbit", type=float, default=400.0, help="visits, switch: link speed, up and down, kbit/s")
    parser.add_argument("--visit-latency-ms", type=float, default=400.0, help="visits, switch: latency per request")
    parser.add_argument(
        "--before-root",
        type=Path,
        action="append",
        default=[],
        help="visits, drag, switch: also measure a server run from this checkout (repeatable)",
    )
    parser.add_argument("--page-runs", type=int, default=5, help="drag, switch: runs per checkout")
    parser.add_argument("--drag-latency-ms", type=float, default=150.0, help="drag: the link's round trip")
    parser.add_argument("--runs", type=int, default=5, help="upload: runs")
    parser.add_argument("--steps", type=int, default=4, help="upload: slider steps per run")
    parser.add_argument("--mbit", type=float, default=10.0, help="upload: link speed, up and down, Mbit/s")
    parser.add_argument("--latency-ms", type=float, default=40.0, help="upload: latency")
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: the config's default)")
    args = parser.parse_args()
    if args.part in ("all", "visits"):
        measure_visits(args)
    if args.part in ("all", "drag", "switch"):
        measure_interactions(args, drag=args.part in ("all", "drag"), switch=args.part in ("all", "switch"))
    if args.part in ("all", "upload"):
        measure_upload(args)


@contextmanager
def server_from(root: Path, workers: int = 2, env: dict[str, str] | None = None):
    """The `web:` command of `root`'s Procfile run in `root` (another checkout), on a free loopback port."""
    line = next(row for row in (root / "Procfile").read_text().splitlines() if row.startswith("web:"))
    argv = shlex.split(line[len("web:") :])
    venv = root / ".venv" / "bin"
    argv[0] = str((venv if (venv / argv[0]).exists() else Path(sys.executable).parent) / argv[0])
    port = free_port()
    env = {**os.environ, "WEB_CONCURRENCY": str(workers), "RATE_LIMIT": "off", "PYTHONUNBUFFERED": "1", **(env or {})}
    with (
        tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log") as log,
        tempfile.TemporaryDirectory(prefix="gunicorn-cache-") as cache,
    ):
        env.setdefault("CACHE_DIR", cache)
        process = subprocess.Popen(
            [*argv, "--bind", f"127.0.0.1:{port}"], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        server = RunningServer(f"http://127.0.0.1:{port}", process, Path(log.name))
        try:
            wait_ready(server, 120)
            yield server
        finally:
            stop(process)


def wait_best_compression(url: str, timeout_s: float = 120) -> None:
    """Until every worker answers /docs' bundle at its best level (a thread makes it after the first request)."""
    bundle = re.search(r'src="([^"]*swagger-ui-bundle[^"]*)"', requests.get(f"{url}/docs", timeout=10).text)
    deadline, settled = time.monotonic() + timeout_s, 0
    while bundle and settled < 6 and time.monotonic() < deadline:
        etag = requests.head(url + bundle.group(1), headers={"Accept-Encoding": "br"}, timeout=10).headers.get("ETag")
        settled = 0 if etag and etag.endswith('-br9"') else settled + 1
        time.sleep(0.2)


def visit_runs(browser, url: str, args: argparse.Namespace) -> dict[str, list[Visit]]:
    """A warm-up, then --visit-runs of: a new visitor, the same visitor again, a new visitor on /docs."""
    link = (args.kbit, args.visit_latency_ms)
    warm = browser.new_context(viewport={"width": 1280, "height": 900})
    visit_page(warm, url, *link)
    visit_docs(warm, f"{url}/docs", *link)
    warm.close()
    wait_best_compression(url)
    visits: dict[str, list[Visit]] = {"first": [], "repeat": [], "docs": []}
    for _ in range(args.visit_runs):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        visits["first"].append(visit_page(context, url, *link))
        visits["repeat"].append(visit_page(context, url, *link))
        context.close()
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        visits["docs"].append(visit_docs(context, f"{url}/docs", *link))
        context.close()
    return visits


def checkout_name(root: Path) -> str:
    """A column's name: the checkout's commit (or its folder's name)."""
    found = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short=7", "HEAD"], capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or root.name


@contextmanager
def servers(args: argparse.Namespace, env: dict[str, str] | None = None):
    """(column name, server) for each --before-root, then for this checkout ("after"), one at a time."""

    def each():
        for root in args.before_root:
            with server_from(root.resolve(), env=env) as server:
                yield checkout_name(root.resolve()), server
        with gunicorn_server(workers=2, env=env) as server:
            yield "after", server

    yield each()


def measure_visits(args: argparse.Namespace) -> None:
    """First and repeat visits and /docs on a slow link, for this checkout and the --before-root ones."""
    measured: dict[str, dict[str, list[Visit]]] = {}
    with sync_playwright() as playwright, servers(args) as running:
        browser = launch_chromium(playwright)
        for name, server in running:
            measured[name] = visit_runs(browser, server.url, args)
        browser.close()
    report_visits(measured, args)


def measure_interactions(args: argparse.Namespace, drag: bool, switch: bool) -> None:
    """The drag and the model switch, for this checkout and the --before-root ones (each after a warm-up)."""
    photos = ROOT / "tests" / "data" / "photos"
    drags: dict[str, list[Drag]] = {}
    switches: dict[str, list[Switch]] = {}
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright, servers(args, TWO_MODELS) as running:
        browser = launch_chromium(playwright)
        for column, (name, server) in enumerate(running):
            models = requests.get(f"{server.url}/api/models", timeout=10).json()
            other = next(m["name"] for m in models["models"] if m["name"] != models["default"])
            new_photos = []
            for run in range(args.page_runs + 1):
                with Image.open(photos / SWITCH_PHOTO) as image:
                    path = Path(folder) / f"{column}-{run}.jpg"
                    path.write_bytes(phone_photo(image, SWITCH_MEGAPIXELS, seed=3000 + 100 * column + run))
                    new_photos.append(path)
            link = (args.kbit, args.visit_latency_ms)
            if drag:
                drag_score(browser, server.url, photos / DRAG_PHOTO, args.drag_latency_ms)  # warm-up
                drags[name] = [
                    drag_score(browser, server.url, photos / DRAG_PHOTO, args.drag_latency_ms)
                    for _ in range(args.page_runs)
                ]
            if switch:
                switch_model(browser, server.url, new_photos[-1], other, *link)  # warm-up
                switches[name] = [switch_model(browser, server.url, photo, other, *link) for photo in new_photos[:-1]]
        browser.close()
    report_interactions(drags, switches, args)


def report_interactions(drags: dict[str, list[Drag]], switches: dict[str, list[Switch]], args) -> None:
    """One row per measure, one column per server: medians over the runs."""
    columns = list(drags or switches)
    print(f"Page interactions: medians of {args.page_runs} runs (after a warm-up), two models ({TWO_MODELS['MODELS']})")
    print(f"{'':52}" + "".join(f"{name:>10}" for name in columns))
    rows: list[tuple[str, dict[str, list[float]]]] = []
    if drags:
        print(
            f"drag: score {DRAG_FROM} -> {DRAG_TO} in {DRAG_PHOTO}, pointer at {POINTER_HZ} Hz for a second, "
            f"{args.drag_latency_ms:g} ms round trip"
        )
        rows += [
            ("drag: boxes redrawn per second while pressed", {c: [d.draws_per_s for d in drags[c]] for c in columns}),
            ("drag: pointer moves per second the page saw", {c: [d.moves_per_s for d in drags[c]] for c in columns}),
            ("drag: changes of the boxes shown before release", {c: [d.changes for d in drags[c]] for c in columns}),
            ("drag: press -> first redraw (ms)", {c: [d.first_draw_ms for d in drags[c]] for c in columns}),
            (
                "drag: release -> server's answer drawn (s)",
                {c: [d.release_to_done_s for d in drags[c]] for c in columns},
            ),
        ]
    if switches:
        rows += [
            ("switch: model chosen -> its boxes drawn (s)", {c: [s.seconds for s in switches[c]] for c in columns}),
            ("switch: requests to /api/predict", {c: [len(s.statuses) for s in switches[c]] for c in columns}),
            (
                "switch: failed requests (4xx)",
                {c: [sum(x >= 400 for x in s.statuses) for s in switches[c]] for c in columns},
            ),
            ("switch: console errors", {c: [s.console_errors for s in switches[c]] for c in columns}),
        ]
    for name, values in rows:
        print(f"{name:52}" + "".join(f"{median(values[c]):10.2f}" for c in columns))
    if switches:
        print(
            f"(switch: a photo new to the server, {SWITCH_MEGAPIXELS:g} MP, the other model chosen over "
            f"{args.kbit:g} kbit/s with {args.visit_latency_ms:g} ms latency per request)"
        )


def report_visits(measured: dict[str, dict[str, list[Visit]]], args: argparse.Namespace) -> None:
    """One row per measure, one column per server: medians over the runs."""
    columns = list(measured)
    print(
        f"Page visits: link {args.kbit:g} kbit/s up and down, {args.visit_latency_ms:g} ms latency per request, "
        f"medians of {args.visit_runs} runs (after a warm-up)"
    )
    rows = [
        ("first visit: example visible (s)", "first", lambda v: v.visible, None),
        ("first visit: first usable (s)", "first", lambda v: v.usable, TARGET_FIRST_USABLE_S),
        ("first visit: example's boxes drawn (s)", "first", lambda v: v.boxes, None),
        ("first visit: clicks until one was taken", "first", lambda v: v.clicks, None),
        ("first visit: KB received", "first", lambda v: v.kilobytes, None),
        ("first visit: requests over the network", "first", lambda v: v.requests, None),
        ("repeat visit: first usable (s)", "repeat", lambda v: v.usable, TARGET_REPEAT_USABLE_S),
        ("repeat visit: example's boxes drawn (s)", "repeat", lambda v: v.boxes, None),
        ("repeat visit: KB received", "repeat", lambda v: v.kilobytes, None),
        ("repeat visit: requests over the network", "repeat", lambda v: v.requests, None),
        ("/docs: rendered (s)", "docs", lambda v: v.ready, TARGET_DOCS_S),
        ("/docs: KB received", "docs", lambda v: v.kilobytes, None),
        ("/docs: requests over the network", "docs", lambda v: v.requests, None),
    ]
    print(f"{'':44}" + "".join(f"{name:>10}" for name in columns) + f"{'target':>10}")
    for name, kind, value, target in rows:
        cells = "".join(f"{median([value(v) for v in measured[c][kind]]):10.2f}" for c in columns)
        print(f"{name:44}{cells}{f'<= {target:g}' if target else '':>10}")
    print(
        "(usable: the page asked for the clicked example's photo; requests over the network include 304s and the "
        "example's POST)"
    )


if __name__ == "__main__":
    main()
