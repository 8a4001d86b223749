"""The servers under test, each in its own process group on loopback: ours (the Procfile), LitServe, Flask dev."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tools.servers import ROOT, free_port, memory_mib, procfile_command

from .report import CPUS


@dataclass(frozen=True)
class Served:
    """A running server: where to POST, and the process group (session) that holds all its processes."""

    url: str
    group: int


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
def _process(
    argv: list[str], env: dict[str, str], ready_path: str, port: int, cwd: Path = ROOT
) -> Iterator[subprocess.Popen]:
    """Run a server in its own process group on 127.0.0.1:port until ready; stop the whole group after."""
    log = Path(tempfile.mkstemp(prefix="bench-server-", suffix=".log")[1])
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            argv, cwd=cwd, env={**os.environ, **env}, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}{ready_path}", process, log)
        yield process
    finally:
        stop_group(process)
        log.unlink(missing_ok=True)


def stop_group(process: subprocess.Popen) -> None:
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


def gunicorn_argv(port: int) -> list[str]:
    """The Procfile command with the venv's gunicorn, bound to loopback."""
    argv = procfile_command()
    argv[0] = str(Path(sys.executable).with_name(argv[0]))
    return argv + ["--bind", f"127.0.0.1:{port}"]


# Our app in every run (gunicorn or Flask's server): every request runs the model: the per-image result cache would answer the same benchmark image from memory,
# and the per-client rate limit would answer most of the load with 429.
APP_ENV = {"PYTHONUNBUFFERED": "1", "CACHE_BYTES": "0", "RATE_LIMIT": "off"}


@contextmanager
def ours(env: dict[str, str], checkout: Path = ROOT, python: str | None = None) -> Iterator[Served]:
    """Our service, started exactly as the Procfile says (GUNICORN_WORKER_CLASS in `env` picks the layout); from
    another `checkout` of the repository and with another `python` (its gunicorn module) when given."""
    port = free_port()
    argv = gunicorn_argv(port)
    if python is not None:
        argv[:1] = [python, "-m", "gunicorn"]
    with _process(argv, {**APP_ENV, **env}, "/readyz", port, cwd=checkout) as process:
        yield Served(f"http://127.0.0.1:{port}/api/predict", process.pid)


def thread_cpu_seconds(group: int) -> tuple[float, float]:
    """CPU seconds used so far by the server's processes' main threads (gunicorn's loops: in a worker, HTTP and the
    app) and by their other threads (in a worker, the model thread)."""
    main = other = 0
    for pid in group_pids(group):
        for task in Path(f"/proc/{pid}/task").glob("*"):
            ticks = _cpu_ticks(task / "stat")
            if int(task.name) == pid:
                main += ticks
            else:
                other += ticks
    return main / os.sysconf("SC_CLK_TCK"), other / os.sysconf("SC_CLK_TCK")


@contextmanager
def peer(model: str) -> Iterator[Served]:
    """The same Detector behind LitServe: CPUS inference workers x 1 intra-op thread, one HTTP server."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "tools.litserve_peer",
        "--port",
        str(port),
        "--model",
        model,
        "--workers",
        str(CPUS),
        "--threads",
        "1",
        "--api-servers",
        "1",
    ]
    with _process(argv, {}, "/health", port) as process:
        yield Served(f"http://127.0.0.1:{port}/predict", process.pid)


FLASK_DEV = "from webapp.app import create_app; create_app().run(host='127.0.0.1', port={port}, threaded=False)"


@contextmanager
def flask_dev(model: str) -> Iterator[Served]:
    """The origin's pattern: `app.run()`, Flask's development server, one request at a time."""
    port = free_port()
    argv = [sys.executable, "-c", FLASK_DEV.format(port=port)]
    with _process(argv, {**APP_ENV, "MODELS": model}, "/readyz", port) as process:
        yield Served(f"http://127.0.0.1:{port}/", process.pid)


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


def _cpu_ticks(stat: Path) -> int:
    """utime + stime of a /proc stat file (a process's or a thread's), in clock ticks; 0 when it has exited."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def group_cpu_seconds(group: int) -> float:
    """User + system CPU seconds used so far by every process of the server (workers, threads, helpers)."""
    return sum(_cpu_ticks(Path(f"/proc/{pid}/stat")) for pid in group_pids(group)) / os.sysconf("SC_CLK_TCK")


def wait_idle(group: int, quiet_s: float = 0.25, timeout_s: float = 10.0) -> None:
    """Until the server's processes use less than 2% of a CPU over `quiet_s` (its queue is empty)."""
    deadline = time.monotonic() + timeout_s
    last = group_cpu_seconds(group)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = group_cpu_seconds(group)
        if now - last < 0.02 * quiet_s + 0.011:  # a clock tick (10 ms) of slack: /proc counts in ticks
            return
        last = now


def group_rss_mib(group: int) -> list[float]:
    """RSS of each process of the server, largest first."""
    return sorted((memory_mib(pid) for pid in group_pids(group)), reverse=True)
