"""Load generator: N prediction requests at concurrency C with real photos; latency percentiles and throughput.

    python -m tools.loadgen --url http://127.0.0.1:5000 --requests 1000 --concurrency 8

Each thread keeps one requests.Session (keep-alive). Requests rotate through the photos and the two request
forms (origin JSON with base64, multipart upload); every outcome is kept: status, latency, error, labels.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

PHOTOS = Path(__file__).resolve().parent.parent / "tests" / "data" / "photos"
DEFAULT_PHOTOS = ("astronaut.jpg", "grace_hopper.jpg", "coffee.jpg", "chelsea.png")
FORMS = ("json", "multipart")


@dataclass(frozen=True)
class Payload:
    """One request body to send: `batch` copies of a photo, in the JSON or the multipart form."""

    photo: str
    form: str
    image: bytes = field(repr=False)
    batch: int = 1

    def send(self, session: requests.Session, url: str, timeout: float) -> requests.Response:
        """POST this payload to url + /api/predict."""
        if self.form == "json":
            content = base64.b64encode(self.image).decode("ascii")
            entry = {"features": [{"score_th": 0.3}], "image": {"content": content}}
            return session.post(url + "/api/predict", json={"requests": [entry] * self.batch}, timeout=timeout)
        files = [("image", (self.photo, self.image))] * self.batch
        return session.post(url + "/api/predict", files=files, data={"score_th": "0.3"}, timeout=timeout)


@dataclass
class Outcome:
    """What happened to one request; `labels` holds the sorted class names of each result slot."""

    index: int
    photo: str
    form: str
    started: float  # time.monotonic()
    latency_s: float
    status: int | None = None  # None: no HTTP response at all
    error_kind: str | None = None  # "connection", "timeout", "http", "body" or "other"
    error: str | None = None
    labels: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """A 200 whose every slot holds detections."""
        return self.status == 200 and self.error_kind is None


def make_payloads(
    photos: Sequence[str] = DEFAULT_PHOTOS, forms: Sequence[str] = FORMS, batch: int = 1
) -> list[Payload]:
    """Every photo in every form, photos varying fastest."""
    images = {name: (PHOTOS / name).read_bytes() for name in photos}
    return [Payload(name, form, images[name], batch) for form in forms for name in photos]


def send_one(session: requests.Session, url: str, payload: Payload, index: int, timeout: float) -> Outcome:
    """Send one payload and classify the result; never raises for network or HTTP errors."""
    started = time.monotonic()
    outcome = Outcome(index, payload.photo, payload.form, started, 0.0)
    try:
        response = payload.send(session, url, timeout)
    except requests.Timeout as exc:  # before ConnectionError: ConnectTimeout is both
        outcome.error_kind, outcome.error = "timeout", repr(exc)
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        outcome.error_kind, outcome.error = "connection", repr(exc)
    except requests.RequestException as exc:
        outcome.error_kind, outcome.error = "other", repr(exc)
    else:
        outcome.status = response.status_code
        _read_labels(outcome, response)
    outcome.latency_s = time.monotonic() - started
    return outcome


def _read_labels(outcome: Outcome, response: requests.Response) -> None:
    """Fill labels from a 200, or record why the response is not a usable 200."""
    if response.status_code != 200:
        outcome.error_kind, outcome.error = "http", response.text[:300]
        return
    try:
        slots = response.json()["responses"]
        outcome.labels = [tuple(sorted(d["class_name"] for d in slot["detections"])) for slot in slots]
    except (ValueError, KeyError, TypeError) as exc:
        outcome.error_kind, outcome.error = "body", f"{exc!r}: {response.text[:300]}"


def run_load(
    url: str,
    payloads: Sequence[Payload],
    total: int,
    concurrency: int,
    timeout: float = 30.0,
    max_seconds: float = 600.0,
    on_outcome: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> list[Outcome]:
    """Send `total` requests from `concurrency` threads, request i carrying payloads[i % len(payloads)].

    Stops issuing new requests after `max_seconds` or when `stop` is set, so fewer outcomes may come back.
    Outcomes are returned in request order.
    """
    deadline = time.monotonic() + max_seconds
    stop = stop or threading.Event()
    indices = itertools.count()
    lock = threading.Lock()
    outcomes: list[Outcome] = []

    def worker() -> None:
        with requests.Session() as session:
            while not stop.is_set() and time.monotonic() < deadline:
                with lock:
                    index = next(indices)
                if index >= total:
                    return
                outcome = send_one(session, url, payloads[index % len(payloads)], index, timeout)
                with lock:
                    outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)

    # Daemon threads: an aborted caller (e.g. a test timeout) must not hang on them.
    threads = [threading.Thread(target=worker, name=f"loadgen-{n}", daemon=True) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + timeout + 5)
    finally:
        stop.set()
    return sorted(outcomes, key=lambda outcome: outcome.index)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty sequence."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def summarize(outcomes: Sequence[Outcome], wall_seconds: float) -> dict:
    """Counts, errors by kind, p50/p95/p99 latency of successful requests (ms), throughput (requests/s)."""
    latencies = [outcome.latency_s * 1000 for outcome in outcomes if outcome.ok] or [float("nan")]
    return {
        "requests": len(outcomes),
        "ok": sum(outcome.ok for outcome in outcomes),
        "errors": dict(Counter(outcome.error_kind for outcome in outcomes if not outcome.ok)),
        "statuses": {str(k): v for k, v in Counter(outcome.status for outcome in outcomes).items()},
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "throughput_rps": round(len(outcomes) / wall_seconds, 1) if wall_seconds > 0 else 0.0,
        "wall_s": round(wall_seconds, 2),
    }


def format_summary(summary: dict) -> str:
    """One human-readable line."""
    return (
        f"{summary['requests']} requests, {summary['ok']} ok, errors {summary['errors'] or 'none'}; "
        f"latency p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, p99 {summary['p99_ms']} ms; "
        f"{summary['throughput_rps']} req/s over {summary['wall_s']} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the load, print the summary; exit 1 if any request failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000", help="service base URL")
    parser.add_argument("--requests", type=int, default=1000, help="how many requests to send")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel connections")
    parser.add_argument("--photos", default=",".join(DEFAULT_PHOTOS), help=f"comma-separated files in {PHOTOS}")
    parser.add_argument("--forms", default=",".join(FORMS), help="json, multipart or both")
    parser.add_argument("--batch", type=int, default=1, help="images per request")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop sending after this long")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    payloads = make_payloads(args.photos.split(","), args.forms.split(","), args.batch)
    started = time.monotonic()
    outcomes = run_load(args.url.rstrip("/"), payloads, args.requests, args.concurrency, args.timeout, args.max_seconds)
    summary = summarize(outcomes, time.monotonic() - started)
    print(json.dumps(summary) if args.json else format_summary(summary))
    for outcome in [o for o in outcomes if not o.ok][:5]:
        print(f"  failed #{outcome.index} {outcome.photo} {outcome.form}: {outcome.error_kind} {outcome.error}")
    return 0 if summary["ok"] == args.requests else 1


if __name__ == "__main__":
    sys.exit(main())
