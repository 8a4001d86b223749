"""Fair share under load: one greedy client at high concurrency and one normal client at concurrency 1, against two
instances behind nginx (round-robin) sharing a Redis, with the rate limits off and on.

    .venv/bin/python -m tools.bench_fairness [--limits off "200 per 10 seconds; 1200 per minute"] [--seconds 20]
        [--greedy 32] [--workers 1] [--normal-rate 0] [--greedy-waits]
    .venv/bin/python -m tools.bench_fairness --refusal-cost

Everything runs on loopback here (tools/scale_parts.py: redis-server, nginx, two gunicorn instances with the
Procfile's command, each with its share of the cores as ORT_INTRA_OP_THREADS, the result cache off so every
image runs the model). For each RATE_LIMIT setting: first the
normal client alone (its unloaded latency, the baseline measured in the same run, from 127.0.0.4), then the greedy
client (another process, --greedy threads, from 127.0.0.2) and the normal client (from 127.0.0.3, a fresh budget)
together for --seconds. The normal client sends one request at a time, back to back or at most --normal-rate per
second. The greedy client sends the next request as soon as it has an answer, 429 or not, unless --greedy-waits
(then it waits out each Retry-After, as detection_client does); it runs at nice 10, because on a real deployment
its own CPU would be elsewhere. Prints one row per setting: the normal client's p50/p95 and its p95 as a multiple
of its unloaded p95, its own 429s, and the greedy client's answers. --refusal-cost instead measures what a 429
costs: wrk sends sha256 references at 4 connections to one worker whose client is over its limit (Redis
counters), and the CPU time of the worker and of Redis is divided by the requests.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import statistics
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from tools.scale_parts import nginx_round_robin, redis_server, session_from
from tools.servers import gunicorn_server, worker_pids

PHOTOS = sorted((ROOT / "tests" / "data" / "coco-dev" / "images").glob("*.jpg"))
GREEDY_ADDRESS, NORMAL_ADDRESS, ALONE_ADDRESS, WARM_UP_ADDRESS = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"


def post(session, url: str, photo: Path) -> tuple[float, int, int]:
    """One prediction (multipart): (seconds, status, Retry-After seconds)."""
    started = time.perf_counter()
    answer = session.post(url + "/api/predict", files={"image": (photo.name, photo.read_bytes())}, timeout=60)
    return time.perf_counter() - started, answer.status_code, int(answer.headers.get("Retry-After", 0) or 0)


def normal_client(
    url: str, address: str, seconds: float, requests_max: int, rate: float = 0
) -> list[tuple[float, int]]:
    """One request at a time from `address`, at most `rate` per second (0: back to back), for `seconds` or
    `requests_max` requests."""
    results = []
    started = time.monotonic()
    with session_from(address) as session:
        for index, photo in enumerate(itertools.islice(itertools.cycle(PHOTOS), requests_max)):
            if rate:
                time.sleep(max(0.0, started + index / rate - time.monotonic()))
            if time.monotonic() > started + seconds:
                break
            latency, status, _ = post(session, url, photo)
            results.append((latency, status))
    return results


def greedy_client(url: str, seconds: float, threads: int, waits: bool, out) -> None:
    """`threads` threads from GREEDY_ADDRESS sending back to back for `seconds`; sends [(status, count)] to `out`."""
    os.nice(10)
    counts: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(offset: int) -> None:
        with session_from(GREEDY_ADDRESS) as session:
            for photo in itertools.islice(itertools.cycle(PHOTOS), offset, None):
                if time.monotonic() > deadline:
                    return
                try:
                    _, status, retry_after = post(session, url, photo)
                except Exception:  # noqa: BLE001 - a dropped connection counts as status 0
                    status, retry_after = 0, 0
                with lock:
                    counts[status] = counts.get(status, 0) + 1
                if waits and retry_after:
                    time.sleep(min(retry_after, max(0.0, deadline - time.monotonic())))

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.send(sorted(counts.items()))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(limit: str, args) -> dict:
    """One setting: the normal client alone, then with the greedy client."""
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server())
        # Each instance gets its share of this machine's cores, as each would have its own on a PaaS: with the
        # Procfile's default (every core per instance), both instances' models would fight over the same cores.
        threads = str(max(1, (os.cpu_count() or 2) // (2 * args.workers)))
        env = {
            "CACHE_URL": redis.url,
            "CACHE_BYTES": "0",
            "RATE_LIMIT": limit,
            "TRUSTED_PROXIES": "1",
            "MODELS": "yolox_nano",
            "ORT_INTRA_OP_THREADS": threads,
        }
        instances = [stack.enter_context(gunicorn_server(env=env, workers=args.workers)) for _ in range(2)]
        router = stack.enter_context(nginx_round_robin([server.url for server in instances]))
        normal_client(router.url, WARM_UP_ADDRESS, 5, 10)  # every worker has run the model
        alone = normal_client(router.url, ALONE_ADDRESS, args.seconds, args.alone_requests, args.normal_rate)
        receive, send = multiprocessing.Pipe(duplex=False)
        greedy = multiprocessing.Process(
            target=greedy_client, args=(router.url, args.seconds, args.greedy, args.greedy_waits, send)
        )
        greedy.start()
        time.sleep(1.0)  # the greedy client is at full pace before the normal one starts
        loaded = normal_client(router.url, NORMAL_ADDRESS, args.seconds - 2, 10**9, args.normal_rate)
        greedy_counts = dict(receive.recv())
        greedy.join()
    ok_alone = [latency for latency, status in alone if status == 200]
    ok_loaded = [latency for latency, status in loaded if status == 200]
    return {
        "limit": limit,
        "alone_p50": statistics.median(ok_alone) * 1000,
        "alone_p95": percentile(ok_alone, 0.95) * 1000,
        "p50": statistics.median(ok_loaded) * 1000,
        "p95": percentile(ok_loaded, 0.95) * 1000,
        "normal_n": len(loaded),
        "normal_429": sum(1 for _, status in loaded if status == 429),
        "greedy": greedy_counts,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def refusal_cost(seconds: float = 8.0) -> None:
    """CPU per 429: wrk hammers one worker with a client that is over its limit from the first request."""
    body = '{"requests": [{"image": {"sha256": "' + "0" * 64 + '"}}]}'
    with (
        tempfile.NamedTemporaryFile("w", suffix=".lua") as script,
        redis_server() as redis,
        gunicorn_server(
            env={"CACHE_URL": redis.url, "RATE_LIMIT": "1 per hour", "MODELS": "yolox_nano"}, workers=1
        ) as server,
    ):
        script.write(f"wrk.method = 'POST'\nwrk.body = '{body}'\nwrk.headers['Content-Type'] = 'application/json'\n")
        script.flush()
        pids = [*worker_pids(server.process.pid), redis.process.pid]
        before = [cpu_seconds(pid) for pid in pids]
        output = subprocess.run(
            ["wrk", "-t1", "-c4", f"-d{seconds:g}s", "-s", script.name, server.url + "/api/predict"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        worker, redis_cpu = (cpu_seconds(pid) - start for pid, start in zip(pids, before))
    requests_sent = int(next(line for line in output.splitlines() if "requests in" in line).split()[0])
    print(
        f"{requests_sent} requests in {seconds:g} s, all but the first refused (429): "
        f"{worker * 1000 / requests_sent:.2f} ms CPU per request in the gunicorn worker, "
        f"{redis_cpu * 1000 / requests_sent:.2f} ms in Redis"
    )


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--limits",
        nargs="+",
        default=["off", "200 per 10 seconds; 1200 per minute"],
        help="RATE_LIMIT settings to compare (default: off and the default)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the loaded phase (default 20)")
    parser.add_argument("--alone-requests", type=int, default=60, help="the normal client's unloaded requests")
    parser.add_argument("--greedy", type=int, default=32, help="the greedy client's concurrency (default 32)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per instance (default 1)")
    parser.add_argument(
        "--normal-rate", type=float, default=0, help="the normal client's requests/s at most (0: back to back)"
    )
    parser.add_argument("--greedy-waits", action="store_true", help="the greedy client waits out each Retry-After")
    parser.add_argument("--refusal-cost", action="store_true", help="measure the CPU cost of a 429 instead")
    args = parser.parse_args(argv)
    if args.refusal_cost:
        refusal_cost()
        return []
    load_before = os.getloadavg()[0]
    rows = [measure(limit, args) for limit in args.limits]
    pace = f"at most {args.normal_rate:g}/s" if args.normal_rate else "back to back"
    print(
        f"\n2 instances x {args.workers} worker(s) behind nginx, cache off; greedy c={args.greedy} "
        f"({'waits out Retry-After' if args.greedy_waits else 'ignores Retry-After'}), normal c=1 {pace}; "
        f"{args.seconds:.0f} s loaded; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(
        "| RATE_LIMIT | normal alone p50 / p95 ms | normal loaded p50 / p95 ms | p95 loaded / alone "
        "| normal requests (429) | greedy 200 | greedy 429 | greedy other |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        greedy = row["greedy"]
        other = sum(count for status, count in greedy.items() if status not in (200, 429))
        print(
            f"| {row['limit']} | {row['alone_p50']:.1f} / {row['alone_p95']:.1f} | {row['p50']:.1f} / {row['p95']:.1f} "
            f"| {row['p95'] / row['alone_p95']:.2f}x | {row['normal_n']} ({row['normal_429']}) | {greedy.get(200, 0)} "
            f"| {greedy.get(429, 0)} | {other} |"
        )
    return rows


if __name__ == "__main__":
    main()
