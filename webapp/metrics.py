"""Prometheus metrics at GET /metrics, summed over every gunicorn worker in multiprocess mode.

gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before the workers import prometheus_client, so each
worker writes its values to files there and /metrics adds them up. Without it (Flask's dev server,
tests) the process's default registry is served.
"""

from __future__ import annotations

import os

from flask import Flask, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from .models import ModelSet
from .request_log import request_seconds
from .tokens import require_token

REQUESTS = Counter("http_requests", "HTTP requests answered, by endpoint and status", ["method", "endpoint", "status"])
REQUEST_SECONDS = Histogram("http_request_duration_seconds", "Time to answer a request, by endpoint", ["endpoint"])
INFERENCE_SECONDS = Histogram(
    "inference_duration_seconds",
    "Model run time per image (ONNX Runtime only, without decoding or post-processing)",
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0),
)
# An Info metric does not work in multiprocess mode; a constant-1 gauge with labels is the usual stand-in.
MODEL_INFO = Gauge(
    "model_info", "The loaded model (value is always 1)", ["name", "family", "sha256"], multiprocess_mode="max"
)

# The per-image result cache (either store) and the Redis it may live in; an outage shows as errors + misses.
CACHE_HITS = Counter("cache_hits", "Result-cache lookups answered from the cache")
CACHE_MISSES = Counter("cache_misses", "Result-cache lookups that found nothing (or skipped an unreachable Redis)")
# operation: get, put, or open (the local directory or its database could not be opened or was removed).
CACHE_ERRORS = Counter(
    "cache_errors",
    "Result-cache operations that failed, in Redis or the local directory (the request goes on without the cache)",
    ["operation"],
)
RATE_LIMIT_ERRORS = Counter(
    "rate_limit_errors", "Rate-limit checks that failed on Redis (this worker counts alone meanwhile)"
)

UNMATCHED = "unmatched"  # 404/405: one label value, so scanners cannot create unbounded series


def init_metrics(app: Flask) -> None:
    """Count and time every request, record inference times, and serve GET /metrics."""
    models: ModelSet | None = app.extensions.get("models")
    for model in models.entries if models is not None else ():
        info = model.detector.info
        MODEL_INFO.labels(info.name, info.family, info.sha256).set(1)

    @app.after_request
    def record(response: Response) -> Response:
        endpoint = request.url_rule.endpoint if request.url_rule is not None else UNMATCHED
        REQUESTS.labels(
            request.method if request.url_rule is not None else "other", endpoint, str(response.status_code)
        ).inc()
        REQUEST_SECONDS.labels(endpoint).observe(request_seconds())
        return response

    app.add_url_rule("/metrics", "metrics", serve_metrics, methods=["GET"])


def observe_inference(inference_ms: list[float]) -> None:
    """A prediction request's model runs, one observation each."""
    for milliseconds in inference_ms:
        INFERENCE_SECONDS.observe(milliseconds / 1000)


def serve_metrics() -> Response:
    """The text exposition format, over every worker when in multiprocess mode."""
    if current_app.config["METRICS_REQUIRES_TOKEN"]:
        require_token()
    return Response(_exposition(), content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def _exposition(attempts: int = 3) -> bytes:
    """The metrics text; in multiprocess mode, read again if a file vanished while it was read (the gunicorn
    master folds an exited worker's files into archive files, serving/metrics_files.py)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REGISTRY)
    for attempt in range(attempts):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        try:
            return generate_latest(registry)
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
