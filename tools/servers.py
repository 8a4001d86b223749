"""Start the real service (the Procfile's gunicorn command) on a free loopback port, for tests and tools."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def procfile_command() -> list[str]:
    """The `web:` command of the Procfile, split into argv."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return shlex.split(line[len("web:") :])
    raise RuntimeError("Procfile has no web: line")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    """A gunicorn started by `gunicorn_server`."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        """Everything gunicorn and the app wrote so far."""
        return self.log_path.read_text(errors="replace")


@contextmanager
def gunicorn_server(env: dict[str, str] | None = None, workers: int = 2, ready_timeout: float = 60.0):
    """Run the Procfile command bound to 127.0.0.1 on a free port; yields a RunningServer.

    Waits for /readyz, and stops the server with SIGTERM (then SIGKILL) on exit.
    """
    port = free_port()
    argv = procfile_command()
    argv[0] = str(Path(sys.executable).with_name(argv[0]))  # the venv's gunicorn
    argv += ["--bind", f"127.0.0.1:{port}"]  # loopback only, whatever the config's default
    # INFO: the access lines that name each worker (wait_workers_serving reads them) are logged at INFO.
    # RATE_LIMIT off: load and soak tests measure the server, not the per-client limits (tests/test_scale_out.py does).
    full_env = {
        **os.environ,
        "WEB_CONCURRENCY": str(workers),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
        "RATE_LIMIT": "off",
        **(env or {}),
    }
    # Readable by path while the server runs (RunningServer.log), removed when the block exits. The result cache
    # is the server's own: answers cached by an earlier test or run must not stand in for the model.
    with (
        tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log") as log_file,
        tempfile.TemporaryDirectory(prefix="gunicorn-cache-") as cache_dir,
    ):
        full_env.setdefault("CACHE_DIR", cache_dir)
        process = subprocess.Popen(argv, cwd=ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT)
        server = RunningServer(f"http://127.0.0.1:{port}", process, Path(log_file.name))
        try:
            wait_ready(server, ready_timeout)
            yield server
        finally:
            stop(process)


def wait_ready(server: RunningServer, timeout: float) -> None:
    """Poll /readyz until 200, failing fast if gunicorn exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n{server.log()[-3000:]}")
        try:
            if requests.get(server.url + "/readyz", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # a worker still loading the model: retry
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready after {timeout}s:\n{server.log()[-3000:]}")


def stop(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM (graceful), then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn master's child processes (its workers), from every thread's /proc children list."""
    pids: set[int] = set()
    for children in Path(f"/proc/{master_pid}/task").glob("*/children"):
        pids.update(int(pid) for pid in children.read_text().split())
    return sorted(pids)


def open_fds(pid: int) -> int:
    """How many file descriptors the process has open."""
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def memory_mib(pid: int, field: str = "VmRSS") -> float:
    """A /proc/<pid>/status memory field in MiB: VmRSS (now) or VmHWM (peak so far); 0 if the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def established_connections(pid: int, port: int) -> int:
    """How many ESTABLISHED connections to 127.0.0.1:port the process holds (its fds' socket inodes)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    local = f"0100007F:{int(port):04X}"
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == local and row[3] == "01" and row[9] in inodes)


def listen_backlog(port: int) -> int:
    """Connections waiting in 127.0.0.1:port's accept queue (rx_queue of the LISTEN socket in /proc/net/tcp)."""
    local = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[3] == "0A":
            return int(fields[4].split(":")[1], 16)
    raise RuntimeError(f"no listening socket on 127.0.0.1:{port}")


_TEXT_ACCESS_LINE = re.compile(r"\[pid (\d+)\] \[([^\]]*)\] webapp\.access")


def access_lines(log: str) -> list[tuple[int, str]]:
    """(worker pid, request id) of every app access line, in text or JSON log format."""
    found = []
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("logger") == "webapp.access":
                found.append((int(record["pid"]), record["request_id"]))
        elif match := _TEXT_ACCESS_LINE.search(line):
            found.append((int(match[1]), match[2]))
    return found


def wait_workers_serving(
    server: RunningServer, timeout: float = 60.0, probe: Callable[[requests.Session], object] | None = None
) -> list[int]:
    """Wait until every worker has answered a `probe` (its pid on an access-log line); returns the worker pids.

    /readyz answers as soon as one worker is up. Probes go two at a time, so that while one worker is busy
    the kernel hands the other connection to an idle worker. The default probe GETs /readyz (the app is
    loaded); pass one that POSTs a photo to have every worker run inference.
    """
    probe = probe or (lambda session: session.get(server.url + "/readyz", timeout=10))
    seen_from = len(server.log())
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(2) as pool:
        while time.monotonic() < deadline:
            sessions = [requests.Session(), requests.Session()]
            try:
                list(pool.map(probe, sessions))
            finally:
                for session in sessions:
                    session.close()
            answered = {pid for pid, _ in access_lines(server.log()[seen_from:])}
            workers = worker_pids(server.process.pid)
            if workers and set(workers) <= answered:
                return workers
            time.sleep(0.05)
    raise RuntimeError(f"not every worker served within {timeout}s:\n{server.log()[-3000:]}")


@contextmanager
def serving_in_thread(server):
    """Run a socketserver-style server (`serve_forever`) in a daemon thread; shut it down when the block exits."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
