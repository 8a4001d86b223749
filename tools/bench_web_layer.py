"""The web layer's CPU per request, piece by piece, in process: thread CPU time, so a busy neighbour hurts little.

    .venv/bin/python -m tools.bench_web_layer [--model NAME] [--rounds 30] [--calls 40]

Part 1, the whole Flask app called as WSGI with the origin's JSON body, the model's work replaced by candidates
computed once (so what is left is parsing, base64, sha256, the pipeline, selection, JSON, Flask and its hooks),
with one piece switched off at a time; variants in turns, each round `calls` requests per variant, the median of
the rounds' CPU per request (time.thread_time). A variant's saving over "all on" is that piece's cost.
Part 2, single steps timed alone the same way: the model thread's steps (decode, resize + tensor, run, family
decode) and the request thread's (JSON parse, base64, sha256, selection, slot, orjson, cache write).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import orjson
from werkzeug.test import EnvironBuilder

from inference import Detector, PredictParams
from inference.catalog import DEFAULT_MODEL
from inference.image_decoding import decode_image
from inference.preprocess import prepare_input
from tools.bench_inference import bench_jpeg, load


def thread_ms(call: Callable[[], object], calls: int) -> float:
    """CPU milliseconds of this thread per call, over `calls` calls."""
    started = time.thread_time()
    for _ in range(calls):
        call()
    return (time.thread_time() - started) * 1000 / calls


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """The access lines are written (their cost counts) to /dev/null instead of the terminal."""
    saved = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            yield
        finally:
            sys.stderr = saved


def app_variants(detector: Detector, jpeg: bytes) -> dict[str, Callable[[], object]]:
    """One WSGI call per variant: the app with every hook, and with one piece off."""
    from webapp import request_log
    from webapp.app import create_app
    from webapp.models import ModelSet, ServedModel

    found = detector.candidates_from_bytes(jpeg)
    detector.candidates_from_bytes = lambda *_args, **_kwargs: found  # type: ignore[method-assign]
    body = json.dumps(
        {
            "requests": [
                {"image": {"content": base64.b64encode(jpeg).decode()}, "features": [{"score_th": 0.3, "nms_iou": 0.4}]}
            ]
        }
    ).encode()
    environ = EnvironBuilder(
        path="/api/predict", method="POST", data=body, content_type="application/json"
    ).get_environ()

    def app_call(config: dict, change: Callable | None = None) -> Callable[[], object]:
        app = create_app({"LOAD_MODEL": False, "CACHE_BYTES": 0, "RATE_LIMIT": "", **config})
        app.extensions["models"] = ModelSet([ServedModel(detector.info.name, detector)])
        if change is not None:
            change(app)

        def call() -> None:
            statuses: list[str] = []
            answer = app.wsgi_app(
                {**environ, "wsgi.input": io.BytesIO(body)}, lambda status, *_: statuses.append(status)
            )
            b"".join(answer)
            if not statuses[0].startswith("200"):
                raise RuntimeError(f"the app answered {statuses[0]}")

        return call

    def without(*names: str) -> Callable:
        def change(app) -> None:
            for table in (app.before_request_funcs, app.after_request_funcs):
                for key, funcs in table.items():
                    table[key] = [f for f in funcs if f.__name__ not in names]

        return change

    cache_dir = tempfile.mkdtemp(prefix="bench-web-cache-")
    variants = {
        "all on (cache off, limits off)": app_call({}),
        "  access log off": app_call({}, without("log_access")),
        "  metrics hooks off": app_call({}, without("record")),
        "  security headers off": app_call({}, without("add_security_headers")),
        "  request id off": app_call({}, without("assign_request_id")),
        "  rate limits on (memory)": app_call({"RATE_LIMIT": "1000000/second"}),
        "  result cache on (local)": app_call({"CACHE_BYTES": 64 * 2**20, "CACHE_DIR": cache_dir}),
    }
    # With the cache on, every call after the first would be a hit: each call's image is another (new sha256).
    variants["  result cache on (local)"] = _fresh_images(variants["  result cache on (local)"])
    del request_log
    return variants


def _fresh_images(call: Callable[[], object]) -> Callable[[], object]:
    """The call with the cache scope changed each time, so each request misses and writes (a new entry)."""
    from webapp import pipeline

    counter = iter(range(10**9))
    original = pipeline.image_key

    def call_with_new_key() -> None:
        number = next(counter)
        pipeline.image_key = lambda sha256, scope: f"{sha256[:48]}{number:016x}"
        try:
            call()
        finally:
            pipeline.image_key = original

    return call_with_new_key


def step_calls(detector: Detector, jpeg: bytes) -> dict[str, Callable[[], object]]:
    """Single steps of one request, alone."""
    from webapp.result_cache import LocalCache
    from webapp.wire import detections_slot

    image = detector.decode(jpeg)
    tensor, transform = prepare_input(image.pixels, detector._input_hw, detector._recipe, image.original_size)
    session, names = detector.session, [o.name for o in detector.session.get_outputs()]
    feed = {detector._input_name: tensor, **detector._extra_feeds}
    outputs = session.run(names, feed)
    found = detector.candidates(image)
    params = PredictParams(score_th=0.3, nms_iou=0.4)
    detections = detector.select(found, params)
    text = base64.b64encode(jpeg).decode()
    body = json.dumps({"requests": [{"image": {"content": text}}]}).encode()
    cache = LocalCache(tempfile.mkdtemp(prefix="bench-web-put-"), 64 * 2**20)
    keys = iter(range(10**9))
    steps = {
        "decode (Pillow, draft)": lambda: detector.decode(jpeg),
        "decode (Pillow, full)": lambda: decode_image(jpeg),
        "resize + tensor": lambda: prepare_input(
            image.pixels, detector._input_hw, detector._recipe, image.original_size
        ),
        "session.run": lambda: session.run(names, feed),
        "family decode + candidates": lambda: detector._decode(outputs, names, detector._input_hw),
        "JSON parse (orjson)": lambda: orjson.loads(body),
        "base64 decode": lambda: base64.b64decode(text),
        "sha256": lambda: hashlib.sha256(jpeg).hexdigest(),
        "select (threshold, NMS)": lambda: detector.select(found, params),
        "slot (wire.detections_slot)": lambda: detections_slot(detections, "0" * 64, "m"),
        "orjson dumps of the slot": lambda: orjson.dumps(detections_slot(detections, "0" * 64, "m")),
        "result cache write (local, miss)": lambda: cache.put("m" * 16, f"{next(keys):064x}", found),
        "candidates to_bytes": found.to_bytes,
    }
    try:
        from inference import jpeg_fast

        steps["decode (simplejpeg, pixels only)"] = lambda: jpeg_fast.decode_rgb(jpeg, image.size, "RGB", 1)
    except ImportError:
        pass
    del transform
    return steps


def measure(calls_by_name: dict[str, Callable[[], object]], rounds: int, calls: int) -> dict[str, float]:
    """Median CPU ms per call of each, all of them in every round (in turns)."""
    for call in calls_by_name.values():
        thread_ms(call, 3)  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in calls_by_name}
    for index in range(rounds):
        names = list(calls_by_name) if index % 2 == 0 else list(calls_by_name)[::-1]
        for name in names:
            samples[name].append(thread_ms(calls_by_name[name], calls))
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=40, help="calls per variant per round")
    args = parser.parse_args(argv)
    detector = load(args.model, 1)
    jpeg = bench_jpeg()
    load_before = os.getloadavg()[0]
    steps = measure(step_calls(detector, jpeg), max(5, args.rounds // 3), max(5, args.calls // 4))
    with quiet_stderr():
        app = measure(app_variants(detector, jpeg), args.rounds, args.calls)
    base = app["all on (cache off, limits off)"]
    print(
        f"model {args.model}, 640x480 JPEG {len(jpeg)} B; CPU ms per request (thread time, median of rounds); "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"{'the app, model work stubbed':38} {'ms':>7} {'vs all on':>10}")
    for name, value in app.items():
        print(f"{name:38} {value:7.3f} {value - base:+10.3f}")
    print(f"{'single steps':38} {'ms':>7}")
    for name, value in steps.items():
        print(f"{name:38} {value:7.3f}")


if __name__ == "__main__":
    main()
