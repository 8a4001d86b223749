"""gunicorn settings: bind $PORT, honour WEB_CONCURRENCY, size ONNX Runtime threads to the CPUs."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

# Light modules only (webapp/__init__.py is; create_app lives in webapp.app): the settings table and the log format.
from serving import contract as _contract
from serving import settings as _settings
from webapp import log_format as _log_format

try:  # every variable that is set, checked here in the master before any worker starts, by name and bounds
    _settings.check_environment()
except _settings.SettingError as _error:  # one plain line and gunicorn's boot-error code, as webapp/wsgi.py does
    print(f"cannot start: {_error}", file=sys.stderr, flush=True)
    sys.exit(3)
_setting = _settings.read

# The CPUs this process may use (a container's cpuset), not the host's count.
cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

bind = f"0.0.0.0:{_setting('PORT')}"
workers = _setting("WEB_CONCURRENCY") or cpus
os.environ["WEB_CONCURRENCY"] = str(workers)  # the workers' app reports it (/api/model limits.workers) to clients
# The worker layout (docs/deploy.md, BENCHMARKS.md): "buffered" (default) is gevent with deadlines for slow
# clients, whole requests read before the app runs and the model in one thread per worker (serving/worker.py):
# safe with no proxy in front. "sync" (one request at a time, no defence against slow clients) and "gthread"
# (GUNICORN_THREADS threads) are gunicorn's own, kept for comparison behind a request-buffering proxy.
WORKER_CLASSES = {"buffered": "serving.worker.BufferedWorker", "sync": "sync", "gthread": "gthread"}
_layout = _setting("GUNICORN_WORKER_CLASS")
worker_class = WORKER_CLASSES[_layout]
threads = _setting("GUNICORN_THREADS") if _layout == "gthread" else 1
# Connections one buffered worker holds at once (idle, uploading or waiting for the model); when full it drops
# its oldest connection that has not sent a request yet. Each is a file descriptor: keep it under `ulimit -n`.
worker_connections = _setting("GUNICORN_WORKER_CONNECTIONS")
# Each worker's model gets an equal share of the CPUs: workers x model threads <= cores.
os.environ.setdefault("ORT_INTRA_OP_THREADS", str(max(1, cpus // (workers * threads))))
# A worker that stops reporting for this long is killed and restarted. Buffered workers run the model in a
# thread and keep reporting; a sync worker busy on one request is killed (the client's connection drops).
# The app's own deadline, REQUEST_TIMEOUT_S (checked between images), answers with a JSON error first, so
# both gunicorn timeouts default to a margin past it: a request that started may finish, also after SIGTERM.
_timeout_default_s = _setting("REQUEST_TIMEOUT_S") + _settings.GUNICORN_TIMEOUT_MARGIN_S
timeout = _setting("GUNICORN_TIMEOUT") or _timeout_default_s
graceful_timeout = _setting("GUNICORN_GRACEFUL_TIMEOUT") or _timeout_default_s  # SIGTERM
# Seconds a kept connection waits for its next request (gthread; sync workers keep none). The buffered worker keeps
# a connection only while no other worker idles, for SERVE_HEADER_TIMEOUT_S (serving/worker.py).
keepalive = 5
preload_app = False  # ONNX Runtime sessions must be created after fork, one per worker
max_requests = _setting("GUNICORN_MAX_REQUESTS")
max_requests_jitter = max_requests // 10
# gunicorn 27's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): a second instance on
# the same host would take it over. Nothing here uses it.
control_socket_disable = True
accesslog = _setting("GUNICORN_ACCESS_LOG")  # "-" for stdout
# Path without the query string, no Referer, User-Agent or Basic-auth user (the default logs all four:
# secrets travel in them); the request id ties the line to the app's own log lines.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'
errorlog = "-"


class SafeLogger(Logger):
    """gunicorn's logger, with the path escaped and, when LOG_FORMAT=json, JSON lines like the app's."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # The path is URL-decoded: an escaped %0A in it must not start a forged log line.
        atoms["U"] = _contract.escape_control_characters(atoms["U"] or "")
        return atoms

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if _setting("LOG_FORMAT") == "json":
            formatter = _log_format.json_formatter(static_fields={"request_id": "-"})  # no request here
            for handler in self.error_log.handlers + self.access_log.handlers:
                handler.setFormatter(formatter)


logger_class = SafeLogger

# Prometheus multiprocess mode: each worker writes its metrics to files in one directory and /metrics
# adds them up. The variable must be set here, in the master, before any worker imports prometheus_client.
_created_metrics_dir = not _setting("PROMETHEUS_MULTIPROC_DIR")
if _created_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-multiproc-")


def on_starting(server) -> None:
    """Start the metrics from zero: files an earlier run left in a configured directory would be added in."""
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges; fold its counters and histograms into archive files (totals kept)."""
    from serving.metrics_files import fold_dead_worker

    fold_dead_worker(os.environ["PROMETHEUS_MULTIPROC_DIR"], worker.pid)


def on_exit(server) -> None:
    """Remove the metrics directory this config created."""
    if _created_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
