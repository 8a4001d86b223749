"""The same Detector behind LitServe, the peer that tools/bench_server.py compares against.

    .venv/bin/pip install -r tools/requirements-bench.txt   # LitServe is a benchmark-only dependency
    .venv/bin/python -m tools.litserve_peer --port 8001 [--workers 2] [--threads 1] [--api-servers 1] [--fast-queue]

POST /predict takes the origin's JSON ({"requests": [{"image": {"content": b64}, "features": [{...}]}]})
and answers the same JSON shape as our /api/predict, through the same `Detector.predict_bytes`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
from typing import Any

from inference import Detector, PredictParams
from inference.catalog import DEFAULT_MODEL
from tools.bench_inference import load
from webapp.wire import detections_slot

try:
    import litserve as ls
except ImportError:  # a benchmark-only dependency: the request handling below is tested without it
    ls = None


def decode_request(request: dict) -> list[tuple[bytes, PredictParams]]:
    """Origin JSON -> (image bytes, parameters) per entry."""
    tasks = []
    for entry in request["requests"]:
        features = (entry.get("features") or [{}])[0] or {}
        tasks.append((base64.b64decode(entry["image"]["content"]), PredictParams.from_mapping(features)))
    return tasks


def predict(detector: Detector, tasks: list[tuple[bytes, PredictParams]]) -> list[dict[str, Any]]:
    """Detector.predict_bytes per entry, serialised as our API serialises a slot."""
    return [
        detections_slot(detector.predict_bytes(image, params), hashlib.sha256(image).hexdigest(), detector.info.name)
        for image, params in tasks
    ]


if ls is not None:

    class DetectorAPI(ls.LitAPI):
        """One Detector per LitServe inference worker; requests are handled one at a time (no batching)."""

        def __init__(self, model: str, intra_op_threads: int) -> None:
            super().__init__()
            self.model, self.intra_op_threads = model, intra_op_threads

        def setup(self, device: str) -> None:
            """Load and warm up the model (an embedded model's name or an ONNX path, as bench_server passes)."""
            self.detector = load(self.model, self.intra_op_threads)

        def decode_request(self, request: dict) -> list[tuple[bytes, PredictParams]]:
            return decode_request(request)

        def predict(self, tasks: list[tuple[bytes, PredictParams]]) -> list[dict[str, Any]]:
            return predict(self.detector, tasks)

        def encode_response(self, results: list[dict[str, Any]]) -> dict[str, Any]:
            """The same top-level shape as /api/predict."""
            return {"model": self.detector.info.name, "responses": results}


def main() -> None:
    """Serve on 127.0.0.1 until stopped."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedded model name or .onnx path")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="inference worker processes")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads per worker")
    parser.add_argument("--api-servers", type=int, default=1, help="uvicorn HTTP server processes")
    parser.add_argument("--fast-queue", action="store_true", help="ZeroMQ instead of multiprocessing queues")
    args = parser.parse_args()
    if ls is None:
        raise SystemExit("LitServe is missing: pip install -r tools/requirements-bench.txt")
    server = ls.LitServer(
        DetectorAPI(args.model, args.threads),
        accelerator="cpu",
        devices=1,
        workers_per_device=args.workers,
        fast_queue=args.fast_queue,
    )
    server.run(
        host="127.0.0.1",
        port=args.port,
        num_api_servers=args.api_servers,
        log_level="warning",
        generate_client_file=False,
    )


if __name__ == "__main__":
    main()
