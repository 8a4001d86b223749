"""The same Detector behind LitServe, the peer that tools/bench_server.py compares against.

    .venv/bin/pip install -r tools/requirements-bench.txt   # LitServe is a benchmark-only dependency
    .venv/bin/python -m tools.litserve_peer --port 8001 [--workers 2] [--threads 1] [--api-servers 1] [--fast-queue]

POST /predict takes the origin's JSON ({"requests": [{"image": {"content": b64}, "features": [{...}]}]})
and answers the same JSON shape as our /api/predict, through the same `Detector.predict_bytes`.
"""
from __future__ import annotations

import argparse
import base64
import os
from pathlib import Path

import litserve as ls

ROOT = Path(__file__).resolve().parent.parent
from inference import Detector, PredictParams

DEFAULT_MODEL = ROOT / "inference" / "models" / "yolox_nano.onnx"


class DetectorAPI(ls.LitAPI):
    """One Detector per LitServe inference worker; requests are handled one at a time (no batching)."""

    def __init__(self, model_path: str, intra_op_threads: int) -> None:
        super().__init__()
        self.model_path, self.intra_op_threads = model_path, intra_op_threads

    def setup(self, device: str) -> None:
        """Load and warm up the model (the Detector runs once in its constructor)."""
        self.detector = Detector(self.model_path, intra_op_threads=self.intra_op_threads)

    def decode_request(self, request: dict) -> list[tuple[bytes, PredictParams]]:
        """Origin JSON -> (image bytes, parameters) per entry."""
        tasks = []
        for entry in request["requests"]:
            features = (entry.get("features") or [{}])[0] or {}
            tasks.append((base64.b64decode(entry["image"]["content"]), PredictParams.from_mapping(features)))
        return tasks

    def predict(self, tasks: list[tuple[bytes, PredictParams]]) -> list[dict]:
        """Detector.predict_bytes per entry, serialised as our API does."""
        results = []
        for image, params in tasks:
            detections = self.detector.predict_bytes(image, params)
            results.append({**detections.to_dict(), "timings_ms": detections.timings_ms})
        return results

    def encode_response(self, results: list[dict]) -> dict:
        """The same top-level shape as /api/predict."""
        return {"model": self.detector.info.name, "responses": results}


def main() -> None:
    """Serve on 127.0.0.1 until stopped."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="inference worker processes")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads per worker")
    parser.add_argument("--api-servers", type=int, default=1, help="uvicorn HTTP server processes")
    parser.add_argument("--fast-queue", action="store_true", help="ZeroMQ instead of multiprocessing queues")
    args = parser.parse_args()
    server = ls.LitServer(
        DetectorAPI(args.model, args.threads), accelerator="cpu", devices=1, workers_per_device=args.workers, fast_queue=args.fast_queue
    )
    server.run(
        host="127.0.0.1", port=args.port, num_api_servers=args.api_servers, log_level="warning", generate_client_file=False
    )


if __name__ == "__main__":
    main()
