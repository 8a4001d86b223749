"""Peak memory (VmHWM) of a real gunicorn worker for one annotated upload of each worst-case image, each in a fresh
worker (the peak only grows): `.venv/bin/python -m tools.measure_decode_memory "palette+tRNS PNG" batch`.
Names are those of tools/decode_worst_cases.py; `batch` is a full batch of palette PNGs with transparency."""

from __future__ import annotations

import os
import signal
import sys
import time

import requests

from tools.decode_worst_cases import WORST_CASES
from tools.servers import ROOT, gunicorn_server, memory_mib, wait_workers_serving, worker_pids

# Sizes tried besides the pixel limit's 8000x5000: the largest each kind's memory weight accepts.
SIZES = {
    "WebP lossy": [(8000, 5000), (5600, 3500)],
    "WebP lossless": [(8000, 5000), (5600, 3500)],
    "WebP lossy with alpha": [(8000, 5000), (5600, 3500)],
    "animated WebP": [(8000, 5000), (4572, 2857)],
    "progressive JPEG 4:4:4": [(12000, 12000), (8000, 5000), (5986, 3741)],
    "one-strip float TIFF": [(8000, 5000), (5600, 3500)],
}
WARM_UP = (ROOT / "tests" / "data" / "photos" / "coffee.jpg").read_bytes()


def requests_for(names: list[str]):
    """(label, request kwargs maker) for each case."""
    for name in names:
        if name == "batch":
            png = WORST_CASES["palette+tRNS PNG"](8000, 5000)
            yield (
                "16 palette+tRNS PNGs 8000x5000, annotated",
                lambda png=png: [("image", (f"{n}.png", png)) for n in range(16)],
            )
            continue
        for width, height in SIZES.get(name, [(8000, 5000)]):
            data = WORST_CASES[name](width, height)
            yield (
                f"{name} {width}x{height} ({len(data) / 1e3:.0f} KB), annotated",
                lambda data=data: [("image", ("x", data))],
            )


def fresh_worker(server, old_pid: int) -> int:
    """Kill the worker; the arbiter starts a new one."""
    os.kill(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker_pids(server.process.pid) in ([], [old_pid]):
        time.sleep(0.2)
    (pid,) = wait_workers_serving(server)
    return pid


def main(names: list[str]) -> None:
    print("| request | answer | worker before | worker peak |\n| --- | --- | --- | --- |")
    with gunicorn_server(workers=1) as server:
        (pid,) = wait_workers_serving(server)
        for label, files in requests_for(names):
            pid = fresh_worker(server, pid)
            warm = requests.post(server.url + "/api/predict", files={"image": ("p.jpg", WARM_UP)}, timeout=60)
            assert warm.ok, warm.text
            before = memory_mib(pid, "VmHWM")
            started = time.monotonic()
            answer = requests.post(server.url + "/api/predict", files=files(), data={"annotate": "true"}, timeout=300)
            seconds = time.monotonic() - started
            peak = memory_mib(pid, "VmHWM")
            died = "" if worker_pids(server.process.pid) == [pid] else " (worker died)"
            print(
                f"| {label} | {answer.status_code} in {seconds:.1f} s{died} | {before:.0f} MiB | {peak:.0f} MiB |",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:] or [*WORST_CASES, "batch"])
