"""Server benchmark in one run: raw ONNX Runtime ceiling, our gunicorn service, LitServe, Flask's dev server.

    python3 -m venv ../bench-venv && ../bench-venv/bin/pip install -r tools/requirements-bench.txt
    ../bench-venv/bin/python tools/bench_server.py [--duration 8] [--concurrency 1 4 8] [--env K=V] [--smoke]

Every server gets the same 640x480 JPEG (tools/bench_inference.py) in the origin's JSON/base64 body, and
ours also as multipart, sent by `wrk` over loopback with the body prepared once. Besides throughput and
latency, each row has the CPU time all of the server's processes spent per image: on a machine shared with
other work that is the number to trust (saturation throughput on an idle machine = cores / cpu ms).
`--env KEY=VALUE` sets the environment of our gunicorn (WEB_CONCURRENCY, GUNICORN_THREADS,
ORT_INTRA_OP_THREADS) to compare layouts. `--smoke` is a tiny run (1 s cells, c=1; the peer's row says
"not installed" when LitServe is missing) for the tests.
"""
from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tests", ROOT / "tools"):
    sys.path.insert(0, str(folder))
from bench_inference import DEFAULT_MODEL, bench_jpeg  # noqa: E402
from servers import free_port, procfile_command, stop  # noqa: E402

CPUS = os.cpu_count() or 1
TARGET_SATURATION = 0.85  # ours at saturation / raw ceiling
TARGET_ADDED_MS = 5.0  # ours p50 at c=1 minus raw p50 of one worker's session
TARGET_PEER = 1.2  # ours / LitServe, req/s

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


@dataclass(frozen=True)
class Served:
    """A running server: where to POST, and the process group (session) that holds all its processes."""

    url: str
    group: int


@dataclass(frozen=True)
class Body:
    """A request body prepared once, on disk for wrk."""

    content: str  # "json" or "multipart"
    path: Path
    content_type: str

    def post(self, url: str) -> requests.Response:
        """Send it once (correctness check before timing)."""
        return requests.post(url, data=self.path.read_bytes(), headers={"Content-Type": self.content_type}, timeout=60)


# ---------------------------------------------------------------- raw ONNX Runtime


def _latency_row(name: str, latencies: list[float], wall_s: float, concurrency: int, cpu_s: float) -> Row:
    """Row from per-call seconds over a wall-clock window and the CPU seconds they used."""
    ms = sorted(x * 1000 for x in latencies)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return Row(name, "tensor", concurrency, len(ms) / wall_s, statistics.median(ms), pick(0.95), pick(0.99),
               cpu_ms=cpu_s * 1000 / len(ms))


def _run_session(model: str, threads: int, duration: float, barrier=None) -> tuple[list[float], float]:
    """session.run in a loop for `duration` seconds on a tensor prepared once; per-call seconds, CPU seconds."""
    from inference import Detector
    from inference.preprocess import prepare_input

    detector = Detector(model, intra_op_threads=threads)
    session = detector.session
    image = detector.decode(bench_jpeg())
    tensor, _ = prepare_input(image.pixels, detector._input_hw, detector._recipe, image.original_size)
    feed = {session.get_inputs()[0].name: tensor}
    names = [o.name for o in session.get_outputs()]
    for _ in range(10):  # warm-up
        session.run(names, feed)
    if barrier is not None:
        barrier.wait()
    latencies, cpu_started, deadline = [], time.process_time(), time.perf_counter() + duration
    while (started := time.perf_counter()) < deadline:
        session.run(names, feed)
        latencies.append(time.perf_counter() - started)
    return latencies, time.process_time() - cpu_started  # process time: ONNX Runtime's own threads included


def _session_process(model: str, threads: int, duration: float, barrier, results) -> None:
    """Child process body for the parallel raw measurement."""
    results.put(_run_session(model, threads, duration, barrier))


def raw_sequential(model: str, threads: int, duration: float) -> Row:
    """One session, one caller, `threads` intra-op threads."""
    latencies, cpu_s = _run_session(model, threads, duration)
    return _latency_row(f"raw 1 session x {threads} thr", latencies, duration, 1, cpu_s)


def raw_parallel(model: str, sessions: int, duration: float) -> Row:
    """`sessions` processes, one single-threaded session each, running at the same time."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no ONNX Runtime state across fork
    barrier, results = context.Barrier(sessions), context.Queue()
    processes = [
        context.Process(target=_session_process, args=(model, 1, duration, barrier, results)) for _ in range(sessions)
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=duration + 120) for _ in processes]
    for process in processes:
        process.join()
    latencies = [x for per_process, _ in answers for x in per_process]
    return _latency_row(f"raw {sessions} sessions x 1 thr", latencies, duration, sessions, sum(c for _, c in answers))


# ---------------------------------------------------------------- servers under test


def _wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    """Poll url until it answers 200; fail fast if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # still loading the model: retry
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def _process(argv: list[str], env: dict[str, str], ready_path: str, port: int) -> Iterator[subprocess.Popen]:
    """Run a server in its own process group on 127.0.0.1:port until ready; stop the whole group after."""
    log = Path(tempfile.mkstemp(prefix="bench-server-", suffix=".log")[1])
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            argv, cwd=ROOT, env={**os.environ, **env}, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}{ready_path}", process, log)
        yield process
    finally:
        _stop_group(process)
        log.unlink(missing_ok=True)


def _stop_group(process: subprocess.Popen) -> None:
    """SIGINT (LitServe and gunicorn both shut down cleanly on it), then SIGKILL the group if needed."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # any child left behind (LitServe's spawned workers)
    except ProcessLookupError:
        pass
    process.wait()


def _gunicorn_argv(port: int) -> list[str]:
    """The Procfile command with the venv's gunicorn, bound to loopback."""
    argv = procfile_command()
    argv[0] = str(Path(sys.executable).with_name(argv[0]))
    return argv + ["--bind", f"127.0.0.1:{port}"]


@contextmanager
def ours(env: dict[str, str]) -> Iterator[Served]:
    """Our service, started exactly as the Procfile says."""
    port = free_port()
    with _process(_gunicorn_argv(port), {"PYTHONUNBUFFERED": "1", **env}, "/readyz", port) as process:
        yield Served(f"http://127.0.0.1:{port}/api/predict", process.pid)


@contextmanager
def peer(model: str) -> Iterator[Served]:
    """The same Detector behind LitServe: CPUS inference workers x 1 intra-op thread, one HTTP server."""
    port = free_port()
    argv = [sys.executable, str(ROOT / "tools" / "litserve_peer.py"), "--port", str(port), "--model", model,
            "--workers", str(CPUS), "--threads", "1", "--api-servers", "1"]
    with _process(argv, {}, "/health", port) as process:
        yield Served(f"http://127.0.0.1:{port}/predict", process.pid)


FLASK_DEV = "from webapp.app import create_app; create_app().run(host='127.0.0.1', port={port}, threaded=False)"


@contextmanager
def flask_dev(model: str) -> Iterator[Served]:
    """The origin's pattern: `app.run()`, Flask's development server, one request at a time."""
    port = free_port()
    argv = [sys.executable, "-c", FLASK_DEV.format(port=port)]
    with _process(argv, {"MODEL_PATH": model}, "/readyz", port) as process:
        yield Served(f"http://127.0.0.1:{port}/", process.pid)


# ---------------------------------------------------------------- load


def make_bodies(folder: Path) -> dict[str, Body]:
    """The origin's JSON/base64 body and the multipart form, for the benchmark JPEG."""
    jpeg = bench_jpeg()
    entry = {"features": [{"score_th": 0.3, "nms_iou": 0.4}], "image": {"content": base64.b64encode(jpeg).decode()}}
    json_path = folder / "body.json"
    json_path.write_text(json.dumps({"requests": [entry]}))
    boundary = "benchboundary7d9f2a"
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="score_th"\r\n\r\n0.3\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="bench.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n"
    ).encode() + jpeg + f"\r\n--{boundary}--\r\n".encode()
    form_path = folder / "body.multipart"
    form_path.write_bytes(form)
    return {
        "json": Body("json", json_path, "application/json"),
        "multipart": Body("multipart", form_path, f"multipart/form-data; boundary={boundary}"),
    }


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


def load_rows(name: str, server: Served, bodies: list[Body], concurrencies: list[int], duration: int,
              script: Path) -> list[Row]:
    """Check, warm up, then one wrk run per (body, concurrency), with the server's CPU time around it."""
    rows = []
    for body in bodies:
        check_answer(server.url, body)
        run_wrk(server.url, body, max(concurrencies), 1, script)  # warm-up: connections, lazy imports, caches
        for concurrency in concurrencies:
            cpu_before = group_cpu_seconds(server.group)
            result = run_wrk(server.url, body, concurrency, duration, script)
            cpu_s = group_cpu_seconds(server.group) - cpu_before
            rows.append(Row(
                name, body.content, concurrency, result["requests"] / (result["duration_us"] / 1e6),
                result["p50_us"] / 1000, result["p95_us"] / 1000, result["p99_us"] / 1000,
                result["socket_errors"] + result["status_errors"], cpu_s * 1000 / max(1, result["requests"]),
            ))
            print(f"  {format_row(rows[-1])}", flush=True)
    return rows


# ---------------------------------------------------------------- cold start


def group_pids(group: int) -> list[int]:
    """Every live process whose session id is `group` (servers run with start_new_session)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        if int(fields[3]) == group:  # field 6 of stat, counted after the ")" that ends the command name
            pids.append(int(stat.parent.name))
    return pids


def group_cpu_seconds(group: int) -> float:
    """User + system CPU seconds used so far by every process of the server (workers, threads, helpers)."""
    ticks = 0
    for pid in group_pids(group):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def group_rss_mib(group: int) -> list[float]:
    """RSS of each process of the server, largest first."""
    return sorted((rss_mib(pid) for pid in group_pids(group)), reverse=True)


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn master's child processes, from every thread's /proc children list."""
    pids: set[int] = set()
    for children in Path(f"/proc/{master_pid}/task").glob("*/children"):
        pids.update(int(pid) for pid in children.read_text().split())
    return sorted(pids)


def rss_mib(pid: int) -> float:
    """VmRSS of a process in MiB (0 if it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cold_start(env: dict[str, str], body: Body, follow_up: int = 20) -> dict:
    """Launch the Procfile command and POST until the first 200: launch-to-prediction time, RSS, first latencies.

    gunicorn binds before its workers load the model, so the first POST simply waits in the backlog.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/predict"
    log = Path(tempfile.mkstemp(prefix="bench-cold-", suffix=".log")[1])
    started = time.perf_counter()
    with log.open("wb") as log_file:
        process = subprocess.Popen(_gunicorn_argv(port), cwd=ROOT, env={**os.environ, **env}, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while True:
            if process.poll() is not None or time.perf_counter() - started > 120:
                raise RuntimeError(f"gunicorn gave no prediction:\n{log.read_text()[-3000:]}")
            try:
                if body.post(url).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.02)
        first_s = time.perf_counter() - started
        latencies = []
        for _ in range(follow_up):  # a new connection each: the kernel spreads them over the workers
            sent = time.perf_counter()
            body.post(url).raise_for_status()
            latencies.append((time.perf_counter() - sent) * 1000)
        workers = worker_pids(process.pid)
        return {
            "first_prediction_s": first_s,
            "master_rss_mib": rss_mib(process.pid),
            "worker_rss_mib": [rss_mib(pid) for pid in workers],
            "next_latencies_ms": latencies,
        }
    finally:
        _stop_group(process)
        log.unlink(missing_ok=True)


def print_cold_start(result: dict) -> None:
    """Cold start lines under the table."""
    later = result["next_latencies_ms"]
    print(f"cold start: launch -> first successful prediction {result['first_prediction_s']:.2f} s; "
          f"RSS master {result['master_rss_mib']:.0f} MiB, workers "
          + ", ".join(f"{rss:.0f}" for rss in result["worker_rss_mib"]) + " MiB")
    print(f"next {len(later)} requests (new connection each): first {later[0]:.1f} ms, max of first 4 "
          f"{max(later[:4]):.1f} ms, median of the rest {statistics.median(later[4:] or later):.1f} ms")


# ---------------------------------------------------------------- report


def worker_layout(env: dict[str, str]) -> tuple[int, int, int]:
    """(workers, threads, intra-op threads) that gunicorn.conf.py gives our server under `env`."""
    conf = ROOT / "gunicorn.conf.py"
    namespace: dict = {"__file__": str(conf)}  # as gunicorn runs it
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.gettempdir())  # so the config creates no folder
    try:
        exec(compile(conf.read_text(), str(conf), "exec"), namespace)
        return namespace["workers"], namespace["threads"], int(os.environ["ORT_INTRA_OP_THREADS"])
    finally:
        os.environ.clear()
        os.environ.update(saved)


HEADER = (f"{'server':28} {'content':9} {'conc':>4} {'img/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'cpu ms':>7} {'errors':>6} {'/raw':>6} {'ours/peer':>9}")
PEER_NAME = "litserve"


def format_row(row: Row, ceiling: float | None = None, peer_rps: float | None = None) -> str:
    """One table line; ratios only where they apply."""
    line = (f"{row.server:28} {row.content:9} {row.concurrency:4} {row.requests_per_s:7.1f} {row.p50:7.1f} "
            f"{row.p95:7.1f} {row.p99:7.1f} {row.cpu_ms:7.1f} {row.errors:6}")
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
    print(f"\nload average after the run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {CPUS} CPUs; ours: {layout[0]} workers x "
          f"{layout[1]} threads x {layout[2]} intra-op threads; ceiling = {ceiling.server} ({ceiling.requests_per_s:.1f}/s)")
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
        shared = [r for r in ours_json if ("json", r.concurrency) in peer_rps]
        if shared:
            verdicts["vs_peer"] = min(r.requests_per_s / peer_rps[("json", r.concurrency)] for r in shared)
    print()
    if "saturation" in verdicts:
        print(_verdict("throughput at saturation / raw ceiling", verdicts["saturation"], TARGET_SATURATION, ">="))
        print(f"{'  same from CPU per image (raw cpu ms / ours cpu ms)':52} {verdicts['cpu_efficiency']:7.2f}"
              "  (what an otherwise idle machine would show)")
    if "added_ms" in verdicts:
        print(_verdict(f"added p50 at c=1, JSON, vs raw x {layout[2]} thr (ms)", verdicts["added_ms"], TARGET_ADDED_MS, "<="))
    if "vs_peer" in verdicts:
        print(_verdict("ours / LitServe img/s (worst concurrency)", verdicts["vs_peer"], TARGET_PEER, ">="))
    return verdicts


def _verdict(name: str, value: float, target: float, sense: str) -> str:
    met = value >= target if sense == ">=" else value <= target
    return f"{name:52} {value:7.2f}  target {sense} {target}: {'met' if met else 'NOT met'}"


def print_memory(rss: dict[str, list[float]]) -> None:
    """RSS of every process of each server, measured right after its load."""
    for name, sizes in rss.items():
        print(f"RSS after load, {name}: " + ", ".join(f"{size:.0f}" for size in sizes) + f" MiB (total {sum(sizes):.0f})")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> tuple[list[Row], list[Row], dict]:
    """Run every part; returns (raw rows, server rows, verdicts)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8, help="seconds per cell")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="environment of our gunicorn")
    parser.add_argument("--skip", nargs="*", default=[], choices=["raw", "ours", "multipart", "peer", "flask", "cold"])
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
    if Path(args.model).resolve() != DEFAULT_MODEL.resolve():
        env.setdefault("MODEL_PATH", args.model)
    layout = worker_layout(env)
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
        runs = [
            ("ours", "ours (gunicorn, Procfile)", lambda: ours(env), ["json", "multipart"]),
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
