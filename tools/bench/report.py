"""The results table: one Row per cell, its formatting, and the targets with their verdicts."""

from __future__ import annotations

import os
from dataclasses import dataclass

CPUS = os.cpu_count() or 1
TARGET_SATURATION = 0.85  # ours at saturation / raw ceiling
TARGET_ADDED_MS = 5.0  # ours p50 at c=1 minus raw p50 of one worker's session
TARGET_PEER = 1.2  # ours / LitServe, req/s
TARGET_LAYOUT = 0.95  # the default layout / the compared one, img/s at the highest concurrency
PEER_NAME = "litserve"


@dataclass
class Row:
    """One cell of the results table; latencies in milliseconds."""

    server: str
    content: str
    concurrency: int
    requests_per_s: float
    p50: float
    p95: float
    p99: float
    errors: int = 0
    cpu_ms: float = 0.0  # CPU time (user + system, every process of the server) per request


HEADER = (
    f"{'server':28} {'content':9} {'conc':>4} {'img/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
    f"{'cpu ms':>7} {'errors':>6} {'/raw':>6} {'ours/peer':>9}"
)
PEER_NAME = "litserve"


def format_row(row: Row, ceiling: float | None = None, peer_rps: float | None = None) -> str:
    """One table line; ratios only where they apply."""
    line = (
        f"{row.server:28} {row.content:9} {row.concurrency:4} {row.requests_per_s:7.1f} {row.p50:7.1f} "
        f"{row.p95:7.1f} {row.p99:7.1f} {row.cpu_ms:7.1f} {row.errors:6}"
    )
    if ceiling:
        line += f" {row.requests_per_s / ceiling:6.2f}"
    if peer_rps:
        line += f" {row.requests_per_s / peer_rps:9.2f}"
    return line.rstrip()


def print_report(raw: list[Row], served: list[Row], layout: tuple[int, int, int], peer_note: str | None) -> dict:
    """The table, then each target and whether it is met; returns the numbers."""
    ceiling = max(raw, key=lambda r: r.requests_per_s)
    peer_rps = {(r.content, r.concurrency): r.requests_per_s for r in served if r.server == PEER_NAME}
    load = os.getloadavg()
    print(
        f"\nload average after the run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {CPUS} CPUs; ours: {layout[0]} workers x "
        f"{layout[1]} threads x {layout[2]} intra-op threads; ceiling = {ceiling.server} ({ceiling.requests_per_s:.1f}/s)"
    )
    print("cpu ms = CPU time of all the server's processes per image (noise-proof: what saturation costs)")
    print(HEADER)
    for row in raw:
        print(format_row(row))
    for row in served:
        peer_value = peer_rps.get((row.content, row.concurrency)) if row.server == "ours" else None
        print(format_row(row, ceiling.requests_per_s, peer_value))
    if peer_note:
        print(f"{PEER_NAME:28} {'json':9} {'-':>4} {peer_note}")

    verdicts = {}
    ours_json = [r for r in served if r.server == "ours" and r.content == "json"]
    if ours_json:
        best = max(ours_json, key=lambda r: r.requests_per_s)
        verdicts["saturation"] = best.requests_per_s / ceiling.requests_per_s
        busiest = max(ours_json, key=lambda r: r.concurrency)
        verdicts["cpu_efficiency"] = ceiling.cpu_ms / busiest.cpu_ms if busiest.cpu_ms else 0.0
        c1 = [r for r in ours_json if r.concurrency == 1]
        same_threads = [r for r in raw if r.concurrency == 1 and r.server.endswith(f"x {layout[2]} thr")]
        if c1 and same_threads:
            verdicts["added_ms"] = c1[0].p50 - same_threads[0].p50
        others = [
            r
            for r in served
            if r.server.startswith("ours ") and r.content == "json" and r.concurrency == busiest.concurrency
        ]
        if others:  # the compared layouts at the highest concurrency: the one we ship must keep up
            verdicts["vs_layout"] = min(busiest.requests_per_s / r.requests_per_s for r in others)
            verdicts["vs_layout_name"] = " / ".join(r.server for r in others)
        shared = [r for r in ours_json if ("json", r.concurrency) in peer_rps]
        if shared:
            verdicts["vs_peer"] = min(r.requests_per_s / peer_rps[("json", r.concurrency)] for r in shared)
    print()
    if "saturation" in verdicts:
        print(_verdict("throughput at saturation / raw ceiling", verdicts["saturation"], TARGET_SATURATION, ">="))
        print(
            f"{'  same from CPU per image (raw cpu ms / ours cpu ms)':52} {verdicts['cpu_efficiency']:7.2f}"
            "  (what an otherwise idle machine would show)"
        )
    if "added_ms" in verdicts:
        print(
            _verdict(
                f"added p50 at c=1, JSON, vs raw x {layout[2]} thr (ms)", verdicts["added_ms"], TARGET_ADDED_MS, "<="
            )
        )
    if "vs_layout" in verdicts:
        name = f"ours / {verdicts['vs_layout_name']} img/s, JSON, c={busiest.concurrency}"
        print(_verdict(name, verdicts["vs_layout"], TARGET_LAYOUT, ">="))
    if "vs_peer" in verdicts:
        print(_verdict("ours / LitServe img/s (worst concurrency)", verdicts["vs_peer"], TARGET_PEER, ">="))
    return verdicts


def _verdict(name: str, value: float, target: float, sense: str) -> str:
    met = value >= target if sense == ">=" else value <= target
    return f"{name:52} {value:7.2f}  target {sense} {target}: {'met' if met else 'NOT met'}"


def print_memory(rss: dict[str, list[float]]) -> None:
    """RSS of every process of each server, measured right after its load."""
    for name, sizes in rss.items():
        print(
            f"RSS after load, {name}: " + ", ".join(f"{size:.0f}" for size in sizes) + f" MiB (total {sum(sizes):.0f})"
        )
