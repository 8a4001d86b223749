"""Where one saturated worker's CPU goes, per request: py-spy samples of a gunicorn worker under wrk, by step.

    .venv/bin/python -m tools.profile_worker [--model NAME] [--seconds 15] [--concurrency 8] [--env KEY=VALUE]

Starts the Procfile's gunicorn (result cache and rate limit off, as tools.bench_overhead, unless --env turns them
on), loads it with wrk and the origin's JSON body, and samples one worker with py-spy (every thread, active
samples only). Each sample goes to the innermost step its stack is in (STEPS, in order: the first that matches a
frame, scanning from the leaf); a step's share of the samples times the worker's CPU per request (from /proc over
the same window) is its ms per request. A sampling profile, so relative: on a shared machine the shares hold
better than the milliseconds. Needs py-spy (tools/requirements-bench.txt) and the right to ptrace the worker.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from inference.catalog import DEFAULT_MODEL
from tools.bench.load import check_and_warm, json_load, run_wrk
from tools.bench.processes import group_pids, ours
from tools.bench.report import CPUS

# (step, substrings of a py-spy frame "function (file:line)"); the first step matching from the leaf wins.
IDLE = "(waiting)"
STEPS: list[tuple[str, tuple[str, ...]]] = [
    ("session.run (model)", ("_run (inference/detector.py",)),
    ("JPEG/image decode", ("decode_image (", "_open (inference/image_decoding", "jpeg_fast.py")),
    ("resize + tensor", ("prepare_input (",)),
    ("family decode + candidates", ("from_class_scores", "inference/families/")),
    ("select (threshold, NMS)", ("select (inference/detector.py",)),
    ("result cache", ("webapp/result_cache/",)),
    ("JSON slot (wire)", ("detections_slot",)),
    ("orjson dumps / response", ("json_response",)),
    ("base64 + sha256 + JSON parse", ("parse_json_body", "decode_base64")),
    ("access log", ("log_access",)),
    ("metrics hooks", ("webapp/metrics.py",)),
    ("rate limits", ("webapp/rate_limits.py",)),
    ("security headers", ("add_security_headers",)),
    ("request id", ("assign_request_id",)),
    ("model thread hand-off", ("serving/model_thread.py", "gevent/threadpool.py", "gevent/_threading")),
    ("rest of the pipeline", ("webapp/pipeline.py",)),
    ("Flask / Werkzeug", ("flask/", "werkzeug/")),
    ("body buffering, head parse", ("_buffer_body", "_read_head", "gunicorn/http/")),
    ("response write (gunicorn)", ("gunicorn/http/wsgi.py", "paced_socket.py")),
    ("worker (gevent loop, accept)", ("serving/worker.py", "gevent/", "gunicorn/")),
]


# Leaves where a thread waits (py-spy's idle detection misses waits inside gevent's loop and its thread pool).
IDLE_LEAVES = (
    "Hub.run (",
    "run (gevent/hub.py",
    "acquire_with_timeout",
    "_Condition.wait",
    "Condition.wait",
    "wait (gevent/",
)


def classify(stack: list[str]) -> str:
    """The step of one sample's stack (root first)."""
    if any(mark in stack[-1] for mark in IDLE_LEAVES):
        return IDLE
    for frame in reversed(stack):
        for step, marks in STEPS:
            if any(mark in frame for mark in marks):
                return step
    return "other"


def read_samples(raw: Path) -> collections.Counter[str]:
    """py-spy's raw (collapsed) output -> samples per step."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text:
            continue
        counts[classify(stack_text.split(";"))] += int(count)
    return counts


def cpu_s(stat: Path) -> float:
    """User + system seconds from a /proc stat file (a process, or one of its threads)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of a process, by name and id."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        name = (task / "comm").read_text().strip()
        found[f"{name} {task.name}{' (main)' if task.name == str(pid) else ''}"] = cpu_s(task / "stat")
    return found


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(os.sys.executable).with_name("py-spy"))
    env = {"MODELS": args.model, "ORT_INTRA_OP_THREADS": "1", "WEB_CONCURRENCY": str(CPUS)}
    env.update(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory(prefix="profile-") as folder, ours(env) as server:
        body, script = json_load(Path(folder))
        check_and_warm(server.url, body, args.concurrency, script)
        workers = [pid for pid in group_pids(server.group) if pid != server.group]
        worker = min(workers)
        result: dict = {}
        load = threading.Thread(
            target=lambda: result.update(run_wrk(server.url, body, args.concurrency, args.seconds + 2, script))
        )
        load.start()
        raw = Path(folder) / "samples.txt"
        cpu_before, all_before = thread_cpu_s(worker), sum(cpu_s(Path(f"/proc/{pid}/stat")) for pid in workers)
        subprocess.run(
            [
                py_spy,
                "record",
                "-p",
                str(worker),
                "-d",
                str(args.seconds),
                "-r",
                str(args.rate),
                "--threads",
                "-f",
                "raw",
                "-o",
                str(raw),
            ],
            check=True,
            capture_output=True,
        )
        cpu_after, all_after = thread_cpu_s(worker), sum(cpu_s(Path(f"/proc/{pid}/stat")) for pid in workers)
        load.join()
        counts = read_samples(raw)
        shutil.copy(raw, Path(tempfile.gettempdir()) / "profile-worker-samples.txt")  # for a closer look
    waiting = counts.pop(IDLE, 0)
    total = sum(counts.values())
    # Requests in the profile's window: wrk ran 2 s longer; the workers' CPU over the window per request.
    requests = result["requests"] * args.seconds / (args.seconds + 2)
    per_request_ms = (all_after - all_before) * 1000 / max(1.0, requests)
    print(
        f"model {args.model}, profiled worker {worker}: {total} active samples ({waiting} waiting left out); "
        f"CPU of all {len(workers)} workers {per_request_ms:.2f} ms per request (~{requests:.0f} requests); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    worker_s = sum(cpu_after.values()) - sum(cpu_before.values())
    for thread, after in cpu_after.items():
        if after - cpu_before.get(thread, 0.0) > 0.005 * worker_s:
            share = (after - cpu_before.get(thread, 0.0)) / worker_s
            print(
                f"  thread {thread}: {100 * share:.1f}% of the worker's CPU, {share * per_request_ms:.2f} ms per request"
            )
    print(f"{'step':32} {'share %':>8} {'ms/request':>11}")
    shares = {}
    for step, count in counts.most_common():
        shares[step] = count / total
        print(f"{step:32} {100 * count / total:8.1f} {per_request_ms * count / total:11.2f}")
    return shares


if __name__ == "__main__":
    main()
