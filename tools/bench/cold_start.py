"""Cold start: from launching the Procfile command to the first successful prediction, then RSS and first latencies."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tools.servers import ROOT, free_port, memory_mib, worker_pids

from .load import Body
from .processes import APP_ENV, gunicorn_argv, stop_group


def cold_start(env: dict[str, str], body: Body, follow_up: int = 20) -> dict:
    """Launch the Procfile command and POST until the first 200: launch-to-prediction time, RSS, first latencies.

    gunicorn binds before its workers load the model, so the first POST simply waits in the backlog.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/predict"
    log = Path(tempfile.mkstemp(prefix="bench-cold-", suffix=".log")[1])
    started = time.perf_counter()
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            gunicorn_argv(port),
            cwd=ROOT,
            env={**os.environ, **APP_ENV, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
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
            "master_rss_mib": memory_mib(process.pid),
            "worker_rss_mib": [memory_mib(pid) for pid in workers],
            "next_latencies_ms": latencies,
        }
    finally:
        stop_group(process)
        log.unlink(missing_ok=True)


def print_cold_start(result: dict) -> None:
    """Cold start lines under the table."""
    later = result["next_latencies_ms"]
    print(
        f"cold start: launch -> first successful prediction {result['first_prediction_s']:.2f} s; "
        f"RSS master {result['master_rss_mib']:.0f} MiB, workers "
        + ", ".join(f"{rss:.0f}" for rss in result["worker_rss_mib"])
        + " MiB"
    )
    print(
        f"next {len(later)} requests (new connection each): first {later[0]:.1f} ms, max of first 4 "
        f"{max(later[:4]):.1f} ms, median of the rest {statistics.median(later[4:] or later):.1f} ms"
    )


def worker_layout(env: dict[str, str]) -> tuple[int, int, int]:
    """(workers, threads, intra-op threads) that gunicorn.conf.py gives our server under `env`."""
    conf = ROOT / "gunicorn.conf.py"
    namespace: dict = {"__file__": str(conf)}  # as gunicorn runs it
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.gettempdir())  # so the config creates no folder
    try:
        exec(compile(conf.read_text(), str(conf), "exec"), namespace)  # noqa: S102 (the config file, as gunicorn reads it)
        return namespace["workers"], namespace["threads"], int(os.environ["ORT_INTRA_OP_THREADS"])
    finally:
        os.environ.clear()
        os.environ.update(saved)
