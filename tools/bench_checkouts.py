"""Two checkouts (or two interpreters) of the service side by side: CPU per image, in turns, in one run.

    .venv/bin/python -m tools.bench_checkouts BEFORE AFTER [--python-before PY] [--python-after PY]
        [--model NAME] [--rounds 8] [--seconds 4] [--concurrency 8] [--no-raw]

BEFORE and AFTER are folders holding the repository (e.g. `git worktree add ../before <commit>`); each is started as
tools.bench_overhead starts ours (the Procfile's gunicorn, 2 workers x 1 intra-op thread, result cache and rate limit
off), with this venv's interpreter unless --python-before/--python-after name another (its gunicorn module is run).
Each round measures before, after and the raw ceiling (tools.bench_overhead's), the order reversed every other round,
each cell from an idle server. Besides the CPU of all processes per image it splits the workers' CPU into their main
threads (HTTP, the app) and their other threads (the model thread): a change to one of them shows there with a tenth
of the noise of the total. Prints every round and the medians of the paired differences.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path

from inference.catalog import DEFAULT_MODEL
from tools.bench.load import check_and_warm, json_load, saturated_cell
from tools.bench.processes import ours, wait_idle
from tools.bench.raw import raw_parallel
from tools.bench.report import CPUS

SIDES = ("before", "after")


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--python-before")
    parser.add_argument("--python-after")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=4, help="seconds per cell")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-raw", action="store_true", help="skip the raw cells (the thread split needs none)")
    args = parser.parse_args(argv)
    env = {"MODELS": args.model, "ORT_INTRA_OP_THREADS": "1", "WEB_CONCURRENCY": str(CPUS)}
    pythons = {"before": args.python_before, "after": args.python_after}
    folders = {"before": args.before.resolve(), "after": args.after.resolve()}
    series: dict[str, list[float]] = {f"{kind} {side}": [] for kind in ("all", "main", "model") for side in SIDES}
    series["raw"] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as folder, ExitStack() as stack:
        servers = {side: stack.enter_context(ours(env, folders[side], pythons[side])) for side in SIDES}
        body, script = json_load(Path(folder))
        for server in servers.values():
            check_and_warm(server.url, body, args.concurrency, script)

        def served_cell(side: str) -> None:
            cell = saturated_cell(servers[side], body, args.concurrency, args.seconds, script)
            series[f"all {side}"].append(cell.all_ms)
            series[f"main {side}"].append(cell.main_ms)
            series[f"model {side}"].append(cell.other_ms)

        def raw_cell() -> None:
            for server in servers.values():
                wait_idle(server.group)
            series["raw"].append(raw_parallel(args.model, CPUS, args.seconds).cpu_ms)

        print(
            f"model {args.model}, c={args.concurrency}, {args.seconds} s cells; before {folders['before']} "
            f"({pythons['before'] or 'this venv'}), after {folders['after']} ({pythons['after'] or 'this venv'})"
        )
        print(
            f"{'round':>5} {'raw':>6} {'before':>7} {'after':>7} {'diff':>6} | main thread  before after | "
            "model thread before  after   (CPU ms per image)"
        )
        for index in range(args.rounds):
            cells = [lambda: served_cell("before"), lambda: served_cell("after")] + ([] if args.no_raw else [raw_cell])
            for cell in cells if index % 2 == 0 else cells[::-1]:
                cell()
            last = {name: values[-1] if values else float("nan") for name, values in series.items()}
            print(
                f"{index + 1:5d} {last['raw']:6.2f} {last['all before']:7.2f} {last['all after']:7.2f} "
                f"{last['all after'] - last['all before']:+6.2f} | {last['main before']:19.2f} {last['main after']:5.2f} | "
                f"{last['model before']:19.2f} {last['model after']:6.2f}",
                flush=True,
            )
    paired = {
        kind: statistics.median(a - b for a, b in zip(series[f"{kind} after"], series[f"{kind} before"]))
        for kind in ("all", "main", "model")
    }
    print(
        f"median of the paired differences (after - before): all {paired['all']:+.2f}, main threads "
        f"{paired['main']:+.2f}, model threads {paired['model']:+.2f} ms per image"
    )
    if series["raw"]:
        beyond = {
            side: statistics.median(a - r for a, r in zip(series[f"all {side}"], series["raw"])) for side in SIDES
        }
        print(f"median beyond raw: before {beyond['before']:.2f}, after {beyond['after']:.2f} ms per image")
    return series


if __name__ == "__main__":
    main()
