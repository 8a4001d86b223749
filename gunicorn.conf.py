"""gunicorn settings: bind $PORT, honour WEB_CONCURRENCY, size ONNX Runtime threads to the CPUs."""
import os
import shutil
import tempfile
from pathlib import Path

cpus = os.cpu_count() or 1

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or cpus)
# gthread keeps connections alive (sync workers close each one); one thread per worker because
# inference is CPU-bound: more threads would only queue inside ONNX Runtime.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
# Each worker's model gets an equal share of the CPUs: workers x intra-op threads <= cores.
os.environ.setdefault("ORT_INTRA_OP_THREADS", str(max(1, cpus // (workers * threads))))
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)  # a request running longer restarts its worker
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 20)  # SIGTERM: finish in-flight work
keepalive = 5
preload_app = False  # ONNX Runtime sessions must be created after fork, one per worker
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 0)
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # "-" for stdout
errorlog = "-"

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
