"""Raw `session.run` vs `Detector.predict_bytes` (decode + pre + run + post) on one 640x480 JPEG, per model.

    .venv/bin/python -m tools.bench_inference [--threads 1] [--iterations 200] [--model NAME_OR_PATH ...]

Default: every embedded model, measured in the same rounds, then a side-by-side table (img/s per model and
each model's end-to-end time against the first's).

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
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
from inference import Detector
from inference.catalog import EMBEDDED_MODELS, embedded_model
from inference.image_decoding import decode_image
from inference.preprocess import prepare_input

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
    from webapp.models import ModelSet, ServedModel

    # No result cache (the same image every call would be a cache hit) and no rate limit.
    app = create_app({"LOAD_MODEL": False, "CACHE_BYTES": 0, "RATE_LIMIT": ""})
    app.extensions["models"] = ModelSet([ServedModel(detector.info.name, detector)])
    logging.disable(logging.INFO)  # the access line would go to the terminal; its formatting cost stays
    body = json.dumps({"requests": [{"image": {"content": base64.b64encode(jpeg).decode()}}]}).encode()
    environ = EnvironBuilder(
        path="/api/predict", method="POST", data=body, content_type="application/json"
    ).get_environ()

    def call() -> None:
        statuses: list[str] = []
        answer = app.wsgi_app({**environ, "wsgi.input": io.BytesIO(body)}, lambda status, *_: statuses.append(status))
        b"".join(answer)
        if not statuses[0].startswith("200"):
            raise RuntimeError(f"the app answered {statuses[0]}")

    return call


def steps_of(detector: Detector, jpeg: bytes) -> dict[str, Callable[[], object]]:
    """The measured steps of one model."""
    session = detector.session
    output_names = [o.name for o in session.get_outputs()]
    image = detector.decode(jpeg)
    tensor, _ = prepare_input(image.pixels, detector._input_hw, detector._recipe, image.original_size)
    feed = {detector._input_name: tensor, **detector._extra_feeds}  # DETR models also take a target size
    return {
        "raw session.run": lambda: session.run(output_names, feed),
        "predict_bytes (end to end)": lambda: detector.predict_bytes(jpeg),
        "Flask app, JSON, in process": flask_app_call(detector, jpeg),
        "decode, JPEG draft": lambda: detector.decode(jpeg),
        "decode, full (no draft)": lambda: decode_image(jpeg),
    }


def measure(detectors: dict[str, Detector], jpeg: bytes, iterations: int, warmup: int) -> dict[str, dict[str, float]]:
    """Median milliseconds of each measured step, per model; models and steps interleaved in every round."""
    steps = {name: steps_of(detector, jpeg) for name, detector in detectors.items()}
    for _ in range(warmup):
        for calls in steps.values():
            for call in calls.values():
                call()
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in detectors}
    for _ in range(iterations):
        for name, detector in detectors.items():
            for step, call in steps[name].items():
                samples[name].setdefault(step, []).append(timed(call))
            for stage, ms in detector.predict_bytes(jpeg).timings_ms.items():
                samples[name].setdefault(f"  stage: {stage}", []).append(ms / 1000)
    return {name: {step: median_ms(values) for step, values in by_step.items()} for name, by_step in samples.items()}


def load(spec: str, threads: int) -> Detector:
    """An embedded model by name, or a path to an ONNX file."""
    if spec in {model.name for model in EMBEDDED_MODELS}:
        return embedded_model(spec).load(intra_op_threads=threads)
    return Detector(spec, intra_op_threads=threads)


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Print the tables; returns the medians per model (tests read them)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", action="append", help="embedded model name or path (repeat; default: every embedded model)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="ONNX Runtime intra-op threads (1: as each server worker)"
    )
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)

    detectors = {
        Path(spec).stem if spec.endswith(".onnx") else spec: load(spec, args.threads)
        for spec in args.model or [model.name for model in EMBEDDED_MODELS]
    }
    jpeg = bench_jpeg()
    before = os.getloadavg()
    per_model = measure(detectors, jpeg, args.iterations, args.warmup)
    after = os.getloadavg()
    for name, medians in per_model.items():
        medians["ratio"] = medians["predict_bytes (end to end)"] / medians["raw session.run"]
        print(
            f"model {name}, intra-op threads {args.threads}, 640x480 JPEG {len(jpeg)} B, {args.iterations} iterations, "
            f"load average {before[0]:.2f} before, {after[0]:.2f} after"
        )
        print(f"{'step':32} {'median ms':>10}")
        for step, value in medians.items():
            if step != "ratio":
                print(f"{step:32} {value:10.2f}")
        verdict = "met" if medians["ratio"] <= TARGET_RATIO else "NOT met"
        print(f"{'end to end / raw':32} {medians['ratio']:10.3f}  (target <= {TARGET_RATIO}: {verdict})\n")
    reference = "yolox_nano" if "yolox_nano" in per_model else next(iter(per_model))  # the fast choice
    print(
        f"side by side, same rounds: {'model':14} {'run ms':>8} {'end to end ms':>13} {'img/s':>7} {'x ' + reference:>16}"
    )
    for name, medians in per_model.items():
        end_to_end = medians["predict_bytes (end to end)"]
        print(
            f"{'':27}{name:14} {medians['raw session.run']:8.2f} {end_to_end:13.2f} {1000 / end_to_end:7.1f} "
            f"{end_to_end / per_model[reference]['predict_bytes (end to end)']:16.2f}"
        )
    return per_model


if __name__ == "__main__":
    main()
