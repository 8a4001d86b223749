"""Load: the request bodies prepared once, and `wrk` driving them at each concurrency."""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests

from tools.bench_inference import bench_jpeg

from .processes import Served, group_cpu_seconds, thread_cpu_seconds, wait_idle
from .report import Row, format_row

WRK_SCRIPT = """
-- POST the body file named by $BENCH_BODY (read once per wrk thread), report percentiles as JSON.
local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %.0f, "p95_us": %.0f, "p99_us": %.0f, ' ..
    '"socket_errors": %d, "status_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class Body:
    """A request body prepared once, on disk for wrk."""

    content: str  # "json" or "multipart"
    path: Path
    content_type: str

    def post(self, url: str) -> requests.Response:
        """Send it once (correctness check before timing)."""
        return requests.post(url, data=self.path.read_bytes(), headers={"Content-Type": self.content_type}, timeout=60)


def make_bodies(folder: Path) -> dict[str, Body]:
    """The origin's JSON/base64 body and the multipart form, for the benchmark JPEG."""
    jpeg = bench_jpeg()
    entry = {"features": [{"score_th": 0.3, "nms_iou": 0.4}], "image": {"content": base64.b64encode(jpeg).decode()}}
    json_path = folder / "body.json"
    json_path.write_text(json.dumps({"requests": [entry]}))
    boundary = "benchboundary7d9f2a"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="score_th"\r\n\r\n0.3\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="bench.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + jpeg
        + f"\r\n--{boundary}--\r\n".encode()
    )
    form_path = folder / "body.multipart"
    form_path.write_bytes(form)
    return {
        "json": Body("json", json_path, "application/json"),
        "multipart": Body("multipart", form_path, f"multipart/form-data; boundary={boundary}"),
    }


def json_load(folder: Path) -> tuple[Body, Path]:
    """The origin's JSON body and wrk's script, written in `folder`: what a saturating cell sends."""
    script = folder / "post.lua"
    script.write_text(WRK_SCRIPT)
    return make_bodies(folder)["json"], script


def check_and_warm(url: str, body: Body, concurrency: int, script: Path) -> None:
    """One checked answer, then 2 s of load: connections, lazy imports and caches are warm for the first cell."""
    check_answer(url, body)
    run_wrk(url, body, concurrency, 2, script)


@dataclass(frozen=True)
class Cell:
    """CPU milliseconds per image over one wrk run: all the server's processes, and the split of its threads."""

    all_ms: float
    main_ms: float  # the processes' main threads (a worker's HTTP and app)
    other_ms: float  # their other threads (a worker's model thread)


def saturated_cell(server: Served, body: Body, concurrency: int, seconds: int, script: Path) -> Cell:
    """wrk at `concurrency` for `seconds`, started once the server is idle: wrk leaves up to `concurrency` requests
    in the server when it stops, and their CPU (none of their answers) would fall into the next cell."""
    wait_idle(server.group)
    cpu, (main, other) = group_cpu_seconds(server.group), thread_cpu_seconds(server.group)
    requests_done = max(1, run_wrk(server.url, body, concurrency, seconds, script)["requests"])
    main_after, other_after = thread_cpu_seconds(server.group)
    per_image = 1000 / requests_done
    return Cell(
        (group_cpu_seconds(server.group) - cpu) * per_image,
        (main_after - main) * per_image,
        (other_after - other) * per_image,
    )


def check_answer(url: str, body: Body) -> None:
    """One request must succeed and find the astronaut, else the timings mean nothing."""
    answer = body.post(url)
    if answer.status_code != 200:
        raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:300]}")
    labels = [d["class_name"] for d in answer.json()["responses"][0]["detections"]]
    if "person" not in labels:
        raise RuntimeError(f"{url} found no person in the benchmark image: {labels}")


def run_wrk(url: str, body: Body, concurrency: int, duration: int, script: Path) -> dict:
    """wrk -t1 -c{concurrency} -d{duration}s --latency with the Lua script; its JSON summary."""
    argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--latency", "--timeout", "30s", "-s", str(script), url]
    env = {**os.environ, "BENCH_BODY": str(body.path), "BENCH_CONTENT_TYPE": body.content_type}
    output = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    for line in output.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH ") :])
    raise RuntimeError(f"wrk printed no summary:\n{output}")


def load_rows(
    name: str, server: Served, bodies: list[Body], concurrencies: list[int], duration: int, script: Path
) -> list[Row]:
    """Check, warm up, then one wrk run per (body, concurrency), with the server's CPU time around it."""
    rows = []
    for body in bodies:
        check_answer(server.url, body)
        run_wrk(server.url, body, max(concurrencies), 1, script)  # warm-up: connections, lazy imports, caches
        for concurrency in concurrencies:
            cpu_before = group_cpu_seconds(server.group)
            result = run_wrk(server.url, body, concurrency, duration, script)
            cpu_s = group_cpu_seconds(server.group) - cpu_before
            rows.append(
                Row(
                    name,
                    body.content,
                    concurrency,
                    result["requests"] / (result["duration_us"] / 1e6),
                    result["p50_us"] / 1000,
                    result["p95_us"] / 1000,
                    result["p99_us"] / 1000,
                    result["socket_errors"] + result["status_errors"],
                    cpu_s * 1000 / max(1, result["requests"]),
                )
            )
            print(f"  {format_row(rows[-1])}", flush=True)
    return rows


def interleaved_rows(
    servers: dict[str, Served],
    bodies: list[Body],
    concurrencies: list[int],
    duration: int,
    script: Path,
    rounds: int = 4,
) -> list[Row]:
    """Several servers running side by side, measured in turns (A B, then B A, ...) so that a neighbour's load
    on a shared machine falls on all of them alike. Per cell: img/s and CPU per image over all turns, p50 the
    median of the turns' p50, p95 and p99 the worst turn's."""
    rows = []
    rounds = 1 if len(servers) == 1 else max(1, min(rounds, duration))
    step = max(1, duration // rounds)
    for body in bodies:
        for server in servers.values():
            check_answer(server.url, body)
            run_wrk(server.url, body, max(concurrencies), 1, script)  # warm-up
        for concurrency in concurrencies:
            turns: dict[str, list[tuple[dict, float]]] = {name: [] for name in servers}
            for turn in range(rounds):
                order = list(servers.items()) if turn % 2 == 0 else list(servers.items())[::-1]
                for name, server in order:
                    cpu_before = group_cpu_seconds(server.group)
                    result = run_wrk(server.url, body, concurrency, step, script)
                    turns[name].append((result, group_cpu_seconds(server.group) - cpu_before))
            for name, results in turns.items():
                done = sum(r["requests"] for r, _ in results)
                seconds = sum(r["duration_us"] for r, _ in results) / 1e6
                rows.append(
                    Row(
                        name,
                        body.content,
                        concurrency,
                        done / seconds,
                        statistics.median(r["p50_us"] for r, _ in results) / 1000,
                        max(r["p95_us"] for r, _ in results) / 1000,
                        max(r["p99_us"] for r, _ in results) / 1000,
                        sum(r["socket_errors"] + r["status_errors"] for r, _ in results),
                        sum(cpu for _, cpu in results) * 1000 / max(1, done),
                    )
                )
                print(f"  {format_row(rows[-1])}", flush=True)
    return rows
