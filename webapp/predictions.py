"""Running one request's tasks: the result cache first, the model when it misses, one slot per task."""
from __future__ import annotations

import time

from flask import current_app, g

from inference import Candidates, Detector, InferenceError, ModelError

from .errors import ApiError
from .model_thread import in_model_thread
from .parsing import PredictionTask, SlotInput
from .result_cache import ResultCache, image_key
from .tokens import request_token

# The request deadline's clock (tests replace it to make time pass). gunicorn's `timeout` kills a busy sync
# worker (the client gets a dropped connection) and never stops a gthread request, so predict checks a
# shorter deadline itself between images and answers the images it could not start with a JSON error.
deadline_clock = time.monotonic


def image_not_cached(task: PredictionTask) -> ApiError:
    """404 for a sha256 reference the cache does not hold (never sent, evicted, or another instance's)."""
    return ApiError(
        404,
        "image_not_cached",
        f"this server does not have the image with sha256 {task.sha256} for model {task.model} (any more): "
        "send the image bytes again (image.content)",
    )


def timeout_error(step: str) -> ApiError:
    """503 for an image the request's deadline passed before it was `step`."""
    seconds = current_app.config["REQUEST_TIMEOUT_S"]
    return ApiError(
        503,
        "request_timeout",
        f"the request ran out of time (REQUEST_TIMEOUT_S={seconds} s) before this image was {step}; "
        "send fewer images per request",
    )


def cache_scope() -> str | None:
    """Whose entries this request may use: with API tokens, those of its token (checked before); else everyone's."""
    return request_token() if current_app.config["API_TOKENS"] else None


def candidates_for(detector: Detector, cache: ResultCache, task: PredictionTask) -> Candidates | ApiError:
    """The task's candidates: from the cache, else computed from its bytes (and cached).

    With API tokens, the entry is the client's own (protocol.image_key): an image another client sent is a miss
    like one never sent, computed again, so neither the answer nor its timing tells one client what another sent.
    """
    key = image_key(task.sha256, cache_scope())
    cached = cache.get(detector.info.sha256, key)
    if cached is not None:
        g.cache_hits = g.get("cache_hits", 0) + 1
        return cached
    if task.image is None:
        return image_not_cached(task)
    config = current_app.config
    try:
        found = in_model_thread(detector.candidates_from_bytes, task.image, max_pixels=config["MAX_IMAGE_PIXELS"],
                                max_side=config["MAX_IMAGE_SIDE"])
    except InferenceError as exc:
        if isinstance(exc, ModelError):
            current_app.logger.error("prediction failed: %s", exc)
        return ApiError.from_inference(exc)
    g.setdefault("inference_ms", []).append(found.timings_ms.get("inference", 0.0))
    cache.put(detector.info.sha256, key, found)
    return found


def run_task(detector: Detector, cache: ResultCache, slot: SlotInput, deadline: float):
    """Detections for one task, or the ApiError for its slot."""
    if isinstance(slot, ApiError):
        return slot
    if deadline_clock() >= deadline:
        return timeout_error("started")
    found = candidates_for(detector, cache, slot)
    if isinstance(found, ApiError):
        return found
    try:
        return detector.select(found, slot.params)
    except InferenceError as exc:  # an unknown class name in `classes`
        return ApiError.from_inference(exc)
