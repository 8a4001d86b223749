"""Server benchmark in one run: raw ONNX Runtime ceiling, our gunicorn service, LitServe, Flask's dev server.

    python3 -m venv ../bench-venv && ../bench-venv/bin/pip install -r tools/requirements-bench.txt
    ../bench-venv/bin/python -m tools.bench_server [--duration 8] [--concurrency 1 4 8] [--env K=V] [--smoke]

Every server gets the same 640x480 JPEG (tools/bench_inference.py) in the origin's JSON/base64 body, and
ours also as multipart, sent by `wrk` over loopback with the body prepared once. Besides throughput and
latency, each row has the CPU time all of the server's processes spent per image: on a machine shared with
other work that is the number to trust (saturation throughput on an idle machine = cores / cpu ms).
`--env KEY=VALUE` sets the environment of our gunicorn (WEB_CONCURRENCY, ORT_INTRA_OP_THREADS...);
`--layouts buffered sync` runs ours once per GUNICORN_WORKER_CLASS, the first as "ours", the others as
"ours <layout>", side by side and measured in turns (A B B A ...): a before/after in one run that a neighbour's
load on a shared machine hits alike. `--smoke` is a tiny run (1 s cells, c=1; the peer's row says
"not installed" when LitServe is missing) for the tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from inference.catalog import DEFAULT_MODEL
from tools.bench.cold_start import cold_start, print_cold_start, worker_layout
from tools.bench.load import WRK_SCRIPT, interleaved_rows, load_rows, make_bodies
from tools.bench.processes import flask_dev, group_rss_mib, ours, peer
from tools.bench.raw import raw_parallel, raw_sequential
from tools.bench.report import CPUS, PEER_NAME, Row, print_memory, print_report


def ours_name(layouts: list[str], layout: str) -> str:
    """Row name: "ours" for the layout the targets judge (the first), "ours <layout>" for the others."""
    return "ours" if layout == layouts[0] else f"ours {layout}"


def main(argv: list[str] | None = None) -> tuple[list[Row], list[Row], dict]:
    """Run every part; returns (raw rows, server rows, verdicts)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8, help="seconds per cell")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedded model name or .onnx path")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="environment of our gunicorn")
    parser.add_argument("--skip", nargs="*", default=[], choices=["raw", "ours", "multipart", "peer", "flask", "cold"])
    parser.add_argument(
        "--layouts",
        nargs="+",
        default=["buffered"],
        metavar="LAYOUT",
        help="GUNICORN_WORKER_CLASS values to run ours with; the targets judge the first",
    )
    parser.add_argument("--smoke", action="store_true", help="1 s cells at c=1 (tests); peer optional")
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.concurrency = 1, [1]
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make system-packages)")
    skip = set(args.skip)
    peer_note = None
    if "peer" not in skip and importlib.util.find_spec("litserve") is None:
        if not args.smoke:
            raise SystemExit("LitServe is missing: pip install -r tools/requirements-bench.txt (see BENCHMARKS.md)")
        skip.add("peer")
        peer_note = "not installed (pip install -r tools/requirements-bench.txt)"
    env = dict(item.split("=", 1) for item in args.env)
    if args.model != DEFAULT_MODEL:
        env.setdefault("MODELS", args.model)
    layout = worker_layout({**env, "GUNICORN_WORKER_CLASS": args.layouts[0]})
    print("load average before the run {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)

    raw: list[Row] = []
    if "raw" not in skip:
        print("raw ONNX Runtime session.run ...", flush=True)
        raw.append(raw_sequential(args.model, CPUS, args.duration))
        raw.append(raw_parallel(args.model, CPUS, args.duration))
        if layout[2] != CPUS:
            raw.append(raw_sequential(args.model, layout[2], args.duration))
    served: list[Row] = []
    rss: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        bodies = make_bodies(Path(folder))
        script = Path(folder) / "post.lua"
        script.write_text(WRK_SCRIPT)
        cold = None if "cold" in skip else cold_start(env, bodies["json"])
        ours_bodies = [bodies[c] for c in ("json", "multipart") if not (c == "multipart" and "multipart" in skip)]
        if "ours" not in skip:
            print(f"ours (gunicorn, Procfile), layouts {' '.join(args.layouts)} side by side, in turns ...", flush=True)
            with ExitStack() as stack:
                servers = {
                    ours_name(args.layouts, name): stack.enter_context(ours({**env, "GUNICORN_WORKER_CLASS": name}))
                    for name in args.layouts
                }
                served += interleaved_rows(servers, ours_bodies, args.concurrency, args.duration, script)
                rss.update({f"{name} (gunicorn, Procfile)": group_rss_mib(s.group) for name, s in servers.items()})
        runs = [
            ("peer", PEER_NAME, lambda: peer(args.model), ["json"]),
            ("flask", "flask dev, threaded=False", lambda: flask_dev(args.model), ["json"]),
        ]
        for key, name, start, contents in runs:
            if key in skip:
                continue
            print(f"{name} ...", flush=True)
            chosen = [bodies[c] for c in contents if not (c == "multipart" and "multipart" in skip)]
            with start() as server:
                served += load_rows(name.split(" (")[0], server, chosen, args.concurrency, args.duration, script)
                rss[name] = group_rss_mib(server.group)
    verdicts = print_report(raw, served, layout, peer_note) if raw else {}
    if cold:
        print_cold_start(cold)
    print_memory(rss)
    return raw, served, verdicts


if __name__ == "__main__":
    main()
