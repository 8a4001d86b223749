"""CPU per image beyond raw `session.run` at saturation, raw and ours measured in turns.

    .venv/bin/python -m tools.bench_overhead [--model NAME] [--rounds 6] [--seconds 4] [--concurrency 8]

Each round runs the raw ceiling (one single-threaded session per core, each in its own process, on a tensor
prepared once) and then our Procfile's gunicorn under wrk (the origin's JSON body with a 640x480 JPEG, result
cache and rate limit off), or the other way round on odd rounds; each cell starts once the server is idle. Both cells count the CPU time of all their
processes per image, so the difference is what the web layer adds per image (decode, pre- and post-processing,
HTTP, Flask, JSON), and a neighbour's load on a shared machine falls on both alike. Prints each round and the
medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from inference.catalog import DEFAULT_MODEL
from tools.bench.load import check_and_warm, json_load, saturated_cell
from tools.bench.processes import ours, wait_idle
from tools.bench.raw import raw_parallel
from tools.bench.report import CPUS

TARGET_MS = 4.0


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=4, help="seconds per cell")
    parser.add_argument("--concurrency", type=int, default=8, help="wrk connections to ours (saturation)")
    args = parser.parse_args(argv)
    env = {"MODELS": args.model, "ORT_INTRA_OP_THREADS": "1", "WEB_CONCURRENCY": str(CPUS)}
    load_before = os.getloadavg()[0]
    raw_ms, ours_ms = [], []
    with tempfile.TemporaryDirectory(prefix="bench-") as folder, ours(env) as server:
        body, script = json_load(Path(folder))
        check_and_warm(server.url, body, args.concurrency, script)

        def ours_cell() -> float:
            return saturated_cell(server, body, args.concurrency, args.seconds, script).all_ms

        def raw_cell() -> float:
            wait_idle(server.group)  # the server's last requests would share the CPUs with the raw sessions
            return raw_parallel(args.model, CPUS, args.seconds).cpu_ms

        print(
            f"model {args.model}, {CPUS} workers x 1 intra-op thread against {CPUS} raw sessions x 1 thread, "
            f"c={args.concurrency}, {args.seconds} s cells"
        )
        print(f"{'round':>5} {'raw cpu ms':>11} {'ours cpu ms':>12} {'beyond raw':>11}")
        for index in range(args.rounds):
            cells = [raw_cell, ours_cell]
            first, second = cells if index % 2 == 0 else cells[::-1]
            a, b = first(), second()
            raw, ours_cpu = (a, b) if index % 2 == 0 else (b, a)
            raw_ms.append(raw)
            ours_ms.append(ours_cpu)
            print(f"{index + 1:5d} {raw:11.2f} {ours_cpu:12.2f} {ours_cpu - raw:11.2f}", flush=True)
    medians = {
        "raw": statistics.median(raw_ms),
        "ours": statistics.median(ours_ms),
        "beyond": statistics.median(o - r for o, r in zip(ours_ms, raw_ms)),
    }
    verdict = "met" if medians["beyond"] <= TARGET_MS else "NOT met"
    print(
        f"{'median':>5} {medians['raw']:11.2f} {medians['ours']:12.2f} {medians['beyond']:11.2f}  "
        f"(target <= {TARGET_MS} ms: {verdict}); load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    return medians


if __name__ == "__main__":
    main()
