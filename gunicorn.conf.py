"""gunicorn settings: bind $PORT, honour WEB_CONCURRENCY, size ONNX Runtime threads to the CPUs."""
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger


def _load_log_format():
    """webapp/log_format.py by path: `import webapp.log_format` would run webapp/__init__.py in the master
    (Flask, ONNX Runtime, and prometheus_client before PROMETHEUS_MULTIPROC_DIR is set below)."""
    path = Path(__file__).resolve().parent / "webapp" / "log_format.py"
    spec = importlib.util.spec_from_file_location("log_format", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_log_format = _load_log_format()

# The CPUs this process may use (a container's cpuset), not the host's count.
cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or cpus)
# sync workers: one request at a time, which is all a CPU-bound model can use, and a busy worker does not
# accept, so the kernel hands each new connection to an idle one. gthread workers keep accepting while busy:
# under keep-alive load one worker could hold every connection while the other idled (BENCHMARKS.md).
# GUNICORN_THREADS > 1 makes gunicorn use gthread instead.
worker_class = "sync"
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
# Each worker's model gets an equal share of the CPUs: workers x intra-op threads <= cores.
os.environ.setdefault("ORT_INTRA_OP_THREADS", str(max(1, cpus // (workers * threads))))
# A sync worker busy on one request this long is killed and restarted (the client's connection drops).
# The app's own deadline, REQUEST_TIMEOUT_S (checked between images), answers with a JSON error first, so
# both gunicorn timeouts default to 10 s past it: a request that started may finish, also after SIGTERM.
_request_timeout_s = int(os.environ.get("REQUEST_TIMEOUT_S") or 20)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or _request_timeout_s + 10)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or _request_timeout_s + 10)  # SIGTERM
keepalive = 5  # gthread only (sync workers close each connection)
preload_app = False  # ONNX Runtime sessions must be created after fork, one per worker
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 0)
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # "-" for stdout
# Path without the query string, no Referer, User-Agent or Basic-auth user (the default logs all four:
# secrets travel in them); the request id ties the line to the app's own log lines.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'
errorlog = "-"


class SafeLogger(Logger):
    """gunicorn's logger, with the path escaped and, when LOG_FORMAT=json, JSON lines like the app's."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # The path is URL-decoded: an escaped %0A in it must not start a forged log line.
        atoms["U"] = _log_format.escape_control_characters(atoms["U"] or "")
        return atoms

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if (os.environ.get("LOG_FORMAT") or "").lower() == "json":
            formatter = _log_format.json_formatter(static_fields={"request_id": "-"})  # no request here
            for handler in self.error_log.handlers + self.access_log.handlers:
                handler.setFormatter(formatter)


logger_class = SafeLogger

# Prometheus multiprocess mode: each worker writes its metrics to files in one directory and /metrics
# adds them up. The variable must be set here, in the master, before any worker imports prometheus_client.
_created_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _created_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-multiproc-")


def on_starting(server) -> None:
    """Start the metrics from zero: files an earlier run left in a configured directory would be added in."""
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges; its counters and histograms stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """Remove the metrics directory this config created."""
    if _created_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
