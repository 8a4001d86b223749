"""One prediction request, top to bottom: the only module that shows the whole path.

    read and parse the body (parsing.py)
    for each image, in order:
        the deadline (REQUEST_TIMEOUT_S) -> the result cache (result_cache/) -> on a miss, the model thread
        (serving/model_thread.py) runs Detector.candidates_from_bytes (inference/) and Detector.select in one job
        (a hit: Detector.select here)
        -> the slot's JSON (wire.py), with the annotated image when asked for
    the answer's status (a single failed image says why), the metrics and the rest of a batch's rate limit

What the request did travels in its `Outcome`, never in flask.g.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from inference import Candidates, Detections, Detector, InferenceError, ModelError, PredictParams
from inference.annotate import IMAGE_FORMATS, draw_detections, encode_image, shrink_to
from inference.image_decoding import decode_image
from serving.contract import MODEL_THREAD_KEY

from . import metrics, rate_limits, wire
from .errors import ApiError
from .models import ModelSet
from .parsing import PredictionTask, SlotInput, parse_form, parse_json_body
from .responses import json_response
from .result_cache import ResultCache, image_key
from .tokens import client_key, request_token

T = TypeVar("T")


@dataclass
class Outcome:
    """One prediction request's answer and what it cost (read by the metrics and the rate limits)."""

    body: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    cache_hits: int = 0
    inference_ms: list[float] = field(default_factory=list)  # one per model run
    annotated_bytes: int = 0

    @property
    def images_answered(self) -> int:
        """Images answered from the cache or by the model."""
        return self.cache_hits + len(self.inference_ms)


class Deadline:
    """REQUEST_TIMEOUT_S from the start of the request, checked before each image and each annotation.

    gunicorn's `timeout` kills a busy sync worker (the client gets a dropped connection) and never stops a gthread
    request, so the API keeps a shorter deadline itself and answers the images it could not start with an error.
    """

    clock: Callable[[], float] = time.monotonic  # tests replace it to make time pass

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = Deadline.clock() + seconds

    def passed(self) -> bool:
        """Whether the time is up."""
        return Deadline.clock() >= self.at

    def error(self, step: str) -> ApiError:
        """503 for an image the deadline passed before it was `step`."""
        return ApiError(
            503,
            "request_timeout",
            f"the request ran out of time (REQUEST_TIMEOUT_S={self.seconds:g} s) "
            f"before this image was {step}; send fewer images per request",
        )


@dataclass
class _Run:
    """What every image of one request needs, read once."""

    config: dict
    cache: ResultCache
    cache_scope: str | None  # with API tokens, the token: a client reaches only the entries of images it sent
    deadline: Deadline
    outcome: Outcome
    model_thread: Callable[..., Any] | None  # the worker's model thread (serving/worker.py), else run inline

    @property
    def image_limits(self) -> dict[str, int]:
        """decode_image's size limits, from the configuration."""
        return {"max_pixels": self.config["MAX_IMAGE_PIXELS"], "max_side": self.config["MAX_IMAGE_SIDE"]}

    def in_model_thread(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """CPU-bound work in the worker's model thread, taking turns by client (tokens.client_key); inline without one."""
        if self.model_thread is None:
            return func(*args, **kwargs)
        return self.model_thread(client_key(), func, *args, **kwargs)


def answer(models: ModelSet):
    """The response to POST /api/predict (or /): one result slot per image, in order."""
    config = current_app.config
    started = time.perf_counter()
    run = _Run(
        config=config,
        cache=current_app.extensions["result_cache"],
        cache_scope=request_token() if config["API_TOKENS"] else None,
        deadline=Deadline(config["REQUEST_TIMEOUT_S"]),
        outcome=Outcome(),
        model_thread=request.environ.get(MODEL_THREAD_KEY),
    )
    tasks = parse_request(models, config["MAX_BATCH"])
    slots = [_slot(task, run) for task in tasks]
    outcome = run.outcome
    first_model = next((t.model for t in tasks if isinstance(t, PredictionTask)), models.default)
    outcome.body = {
        "model": first_model.name,
        "responses": slots,
        "timings_ms": {"total": round((time.perf_counter() - started) * 1000, 2)},
    }
    errors = [slot["error"] for slot in slots if "error" in slot]
    all_timed_out = len(errors) == len(slots) and all(e["code"] == "request_timeout" for e in errors)
    if (len(slots) == 1 and errors) or all_timed_out:
        # A single image that failed (or a batch that ran out of time): the HTTP status says why.
        outcome.body["error"] = errors[0]
        outcome.status = errors[0]["status"]
    metrics.observe_inference(outcome.inference_ms)
    rate_limits.charge_rest_of_batch(outcome.images_answered)
    return json_response(outcome.body, outcome.status)


def parse_request(models: ModelSet, max_batch: int) -> list[SlotInput]:
    """The body as tasks, by content type: JSON (the origin's shape) or a multipart form."""
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return parse_json_body(_read_body(), max_batch, models.resolve)
    if mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):  # the latter: image_sha256 only
        return parse_form(request.form, request.files, max_batch, models.resolve)
    raise ApiError(
        415,
        "unsupported_media_type",
        f"send application/json or multipart/form-data, not {mimetype or 'a body without Content-Type'}",
    )


def _read_body() -> bytes:
    """The whole body; 413 when over MAX_CONTENT_LENGTH, also for a chunked body (no Content-Length)."""
    data = request.get_data(cache=False)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    # Werkzeug stops a chunked body at the limit without raising: reaching it means there was more.
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def _slot(task: SlotInput, run: _Run) -> dict[str, Any]:
    """One image's slot: its detections (and annotated image), or its error."""
    if isinstance(task, ApiError):
        return wire.error_slot(task)
    if run.deadline.passed():
        return wire.error_slot(run.deadline.error("started"))
    detections = _detections(task, run)
    if isinstance(detections, ApiError):
        return wire.error_slot(detections)
    slot = wire.detections_slot(detections, task.sha256, task.model.name)
    if task.annotate:
        annotated = _annotate(task, detections, run)
        if isinstance(annotated, ApiError):
            return wire.error_slot(annotated)
        slot["annotated_image"] = base64.b64encode(annotated).decode("ascii")
        slot["annotated_image_type"] = IMAGE_FORMATS[run.config["ANNOTATE_FORMAT"]][2]
    return slot


def _detections(task: PredictionTask, run: _Run) -> Detections | ApiError:
    """The image's detections: selected from its cached candidates, else computed from its bytes (and cached).

    A miss is one model-thread job: decode, pre-process, run, family decode and the selection, one hand-off.
    With API tokens the entry is the client's own (result_cache.image_key): an image another client sent is a
    miss like one never sent and is computed again, so neither the answer nor its timing tells of others' traffic.
    """
    detector = task.model.detector
    key = image_key(task.sha256, run.cache_scope)
    cached = run.cache.get(detector.info.sha256, key)
    if cached is not None:
        run.outcome.cache_hits += 1
        return _selected(detector, cached, task.params)
    if task.image is None:
        return ApiError(
            404,
            "image_not_cached",
            f"this server does not have the image with sha256 {task.sha256} "
            f"for model {task.model.name} (any more): send the image bytes again (image.content)",
        )
    try:
        found, detections = run.in_model_thread(_computed, detector, task.image, run.image_limits, task.params)
    except InferenceError as exc:
        if isinstance(exc, ModelError):
            current_app.logger.error("prediction failed: %s", exc)
        return ApiError.from_inference(exc)
    run.outcome.inference_ms.append(found.timings_ms.get("inference", 0.0))
    run.cache.put(detector.info.sha256, key, found)
    return detections


def _computed(
    detector: Detector, image: bytes, limits: dict, params: PredictParams
) -> tuple[Candidates, Detections | ApiError]:
    """The model-thread job of a miss: the candidates (for the cache) and their selection (or its error)."""
    found = detector.candidates_from_bytes(image, **limits)
    return found, _selected(detector, found, params)


def _selected(detector: Detector, found: Candidates, params: PredictParams) -> Detections | ApiError:
    """The detections the parameters keep; an error for an unknown class name in `classes`."""
    try:
        return detector.select(found, params)
    except InferenceError as exc:
        return ApiError.from_inference(exc)


def _annotate(task: PredictionTask, detections: Detections, run: _Run) -> bytes | ApiError:
    """The image with its boxes drawn, encoded; an error when out of time or over ANNOTATE_MAX_BYTES."""
    config = run.config
    if run.deadline.passed():
        return run.deadline.error("annotated")
    if run.outcome.annotated_bytes >= config["ANNOTATE_MAX_BYTES"]:
        return ApiError(
            413,
            "annotation_too_large",
            f"this answer's annotated images already hold "
            f"{config['ANNOTATE_MAX_BYTES']} bytes (ANNOTATE_MAX_BYTES); ask for fewer annotated images "
            "per request",
        )
    try:
        encoded = run.in_model_thread(
            _draw, task.image, detections, run.image_limits, config["ANNOTATE_MAX_SIDE"], config["ANNOTATE_FORMAT"]
        )
    except InferenceError as exc:
        return ApiError.from_inference(exc)
    run.outcome.annotated_bytes += len(encoded)
    return encoded


def _draw(image: bytes, detections: Detections, limits: dict, max_side: int, image_format: str) -> bytes:
    """The image with the boxes drawn, its longest side at most max_side (a JPEG is decoded at a reduced scale
    when it can be: memory stays bounded whatever the original's size)."""
    decoded = decode_image(image, **limits, target_size=(max_side, max_side))
    return encode_image(draw_detections(shrink_to(decoded.pixels, max_side), detections), image_format)
