"""Debian's redis-server and nginx on loopback (free ports, temporary folders), and clients from other loopback addresses.

For tests/test_scale_out.py and tools/bench_fairness.py: nginx stands in for a PaaS router (round-robin over the
instances, appending the peer address to X-Forwarded-For); nothing is installed or left running as a service.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from tools.servers import free_port, stop


def nginx_binary() -> str | None:
    """Debian puts nginx in /usr/sbin, which a non-root PATH may lack."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def wait_listening(port: int, process: subprocess.Popen, log: Path, timeout: float = 10.0) -> None:
    """Until 127.0.0.1:port accepts connections; fails with the log if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args[0]} exited with {process.returncode}:\n{log.read_text(errors='replace')[-2000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(
        f"nothing listens on 127.0.0.1:{port} after {timeout}s:\n{log.read_text(errors='replace')[-2000:]}"
    )


@dataclass
class RunningRedis:
    """A redis-server started by `redis_server`; `kill` and `start` for outage tests (same port, same settings)."""

    port: int
    argv: list[str]
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = self.folder / "redis.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, cwd=self.folder, stdout=out, stderr=subprocess.STDOUT)
        wait_listening(self.port, self.process, log)

    def kill(self) -> None:
        """SIGKILL: the outage a crash or a lost network looks like, no goodbye to the clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def command(self, *args: str) -> str:
        """One redis-cli command's output (MEMORY USAGE, INFO, ...)."""
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], check=True, capture_output=True, text=True
        ).stdout


@contextmanager
def redis_server(maxmemory: str = "64mb"):
    """redis-server on a free loopback port: no persistence, bounded memory evicting the least recently used keys."""
    with tempfile.TemporaryDirectory(prefix="redis-") as folder:
        port = free_port()
        argv = [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            folder,
            "--maxmemory",
            maxmemory,
            "--maxmemory-policy",
            "allkeys-lru",
        ]
        running = RunningRedis(port, argv, Path(folder))
        running.start()
        try:
            yield running
        finally:
            if running.process is not None:
                stop(running.process, timeout=10)


NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    client_max_body_size 25m;
    upstream instances {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://instances;
            proxy_set_header Host $host;
            # What a PaaS router does: the peer's address appended to whatever the client sent.
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream off;
        }}
    }}
}}
"""


@dataclass
class RunningRouter:
    url: str
    process: subprocess.Popen


@contextmanager
def nginx_round_robin(upstream_urls: list[str]):
    """nginx on a free loopback port, sending requests to `upstream_urls` in turn (nginx's default round-robin)."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (make test's system-packages installs it)")
    with tempfile.TemporaryDirectory(prefix="nginx-") as folder:
        port = free_port()
        servers = "\n".join(f"        server {url.removeprefix('http://')};" for url in upstream_urls)
        # As root, nginx's workers would switch to "nobody", who cannot use this private folder.
        user = (
            f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};\n"
            if os.getuid() == 0
            else ""
        )
        conf = Path(folder) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user=user, folder=folder, servers=servers, port=port))
        log = Path(folder) / "error.log"
        log.touch()
        process = subprocess.Popen(
            [binary, "-p", folder, "-c", str(conf), "-e", str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        try:
            wait_listening(port, process, log)
            yield RunningRouter(f"http://127.0.0.1:{port}", process)
        finally:
            stop(process, timeout=10)


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    """A requests session whose connections come from `address` (any 127.x.y.z): another client to the router."""
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session
