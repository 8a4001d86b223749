"""Raw `session.run` vs `Detector.predict_bytes` (decode + pre + run + post) on one 640x480 JPEG.

    .venv/bin/python tools/bench_inference.py [--threads 1] [--iterations 200] [--model path.onnx]

Both use the Detector's own session (same options and threads); the raw input is prepared once. A third
row sends the origin's JSON request through the whole Flask app in process (WSGI: no HTTP, no gunicorn),
the floor for any server built on this Detector. The steps are timed interleaved, one call each per
round, so machine noise hits all alike.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from inference import Detector  # noqa: E402
from inference.image_decoding import decode_image  # noqa: E402
from inference.preprocess import prepare_input  # noqa: E402

DEFAULT_MODEL = ROOT / "inference" / "models" / "yolox_nano.onnx"
SOURCE_PHOTO = ROOT / "tests" / "data" / "photos" / "astronaut.jpg"
TARGET_RATIO = 1.15


def bench_jpeg(width: int = 640, height: int = 480, quality: int = 90) -> bytes:
    """The benchmark image: the astronaut photo scaled to cover width x height, centre-cropped, JPEG q90."""
    photo = Image.open(SOURCE_PHOTO).convert("RGB")
    scale = max(width / photo.width, height / photo.height)
    scaled = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    buffer = io.BytesIO()
    scaled.crop((left, top, left + width, top + height)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def median_ms(samples: list[float]) -> float:
    """Median of seconds, in milliseconds."""
    return statistics.median(samples) * 1000


def timed(call: Callable[[], object]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def flask_app_call(detector: Detector, jpeg: bytes) -> Callable[[], object]:
    """One origin-shaped JSON prediction through the whole Flask app, called as WSGI (no HTTP, no gunicorn)."""
    from werkzeug.test import EnvironBuilder

    from webapp.app import create_app

    app = create_app({"LOAD_MODEL": False})
    app.extensions["detector"] = detector
    logging.disable(logging.INFO)  # the access line would go to the terminal; its formatting cost stays
    body = json.dumps({"requests": [{"image": {"content": base64.b64encode(jpeg).decode()}}]}).encode()
    environ = EnvironBuilder(path="/api/predict", method="POST", data=body, content_type="application/json").get_environ()

    def call() -> None:
        statuses: list[str] = []
        answer = app.wsgi_app({**environ, "wsgi.input": io.BytesIO(body)}, lambda status, *_: statuses.append(status))
        b"".join(answer)
        if not statuses[0].startswith("200"):
            raise RuntimeError(f"the app answered {statuses[0]}")

    return call


def measure(detector: Detector, jpeg: bytes, iterations: int, warmup: int) -> dict[str, float]:
    """Median milliseconds of each measured step."""
    session = detector.session
    input_name = session.get_inputs()[0].name
    output_names = [o.name for o in session.get_outputs()]
    image = detector.decode(jpeg)
    tensor, _ = prepare_input(image.pixels, detector._input_hw, detector._recipe, image.original_size)
    feed = {input_name: tensor}

    steps: dict[str, Callable[[], object]] = {
        "raw session.run": lambda: session.run(output_names, feed),
        "predict_bytes (end to end)": lambda: detector.predict_bytes(jpeg),
        "Flask app, JSON, in process": flask_app_call(detector, jpeg),
        "decode, JPEG draft": lambda: detector.decode(jpeg),
        "decode, full (no draft)": lambda: decode_image(jpeg),
    }
    for _ in range(warmup):
        for call in steps.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in steps}
    stage_samples: dict[str, list[float]] = {}
    for _ in range(iterations):
        for name, call in steps.items():
            samples[name].append(timed(call))
        for stage, ms in detector.predict_bytes(jpeg).timings_ms.items():
            stage_samples.setdefault(f"  stage: {stage}", []).append(ms / 1000)
    return {name: median_ms(values) for name, values in {**samples, **stage_samples}.items()}


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print the table; returns the medians (tests read them)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads (1: as each server worker)")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)

    detector = Detector(args.model, intra_op_threads=args.threads)
    jpeg = bench_jpeg()
    medians = measure(detector, jpeg, args.iterations, args.warmup)
    ratio = medians["predict_bytes (end to end)"] / medians["raw session.run"]
    load = os.getloadavg()
    print(f"model {Path(args.model).name}, intra-op threads {args.threads}, 640x480 JPEG {len(jpeg)} B, "
          f"{args.iterations} iterations, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'step':32} {'median ms':>10}")
    for name, value in medians.items():
        print(f"{name:32} {value:10.2f}")
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"{'end to end / raw':32} {ratio:10.3f}  (target <= {TARGET_RATIO}: {verdict})")
    return {**medians, "ratio": ratio}


if __name__ == "__main__":
    main()
