"""DetectionClient: post images to /api/predict in the origin's JSON shape, one or a batch per request, with retries."""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import requests

from .errors import (
    AuthenticationError,
    ImageFailed,
    ImageProblem,
    ImageRejected,
    ServerError,
    ServerUnreachable,
    UsageError,
)
from .retry import RETRY_STATUSES, Backoff, retry_after_seconds
from .server_info import ServerInfo

PREDICT_PATH = "/api/predict"
_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
MAX_PACED_WAITS = 1000  # 429s with Retry-After one request may wait out (a rate-limited bulk run goes on)
Outcome = dict | ImageProblem  # one image's result (the server's slot plus "model"), or why it was not done


def predict_endpoint(url: str) -> str:
    """The prediction URL for a server root (as the origin's client used) or a full /api/predict URL."""
    url = url.strip()
    parts = urlsplit(url if "://" in url else "http://" + url)  # "localhost:5000" means http
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"not a server URL: {url!r}; expected e.g. http://localhost:5000")
    path = parts.path.rstrip("/")
    if not path.endswith(PREDICT_PATH):
        path += PREDICT_PATH  # keeps a prefix, e.g. a server behind a proxy at /detector
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


class _Retry(Exception):
    """This attempt failed in a way another attempt may not; `final` is raised when none is left."""

    def __init__(self, final: Exception, after: float | None = None, status: int | None = None) -> None:
        super().__init__(str(final))
        self.final, self.after = final, after
        self.paced = status == 429 and bool(after)  # a rate limit saying when: flow control, not a failure


class DetectionClient:
    """Client of one server: `DetectionClient(url, token).predict("photo.jpg", score_th=0.5)`.

    Not thread-safe (one HTTP session): make one per thread; they may share a `stop` event.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        stop: threading.Event | None = None,
    ) -> None:
        if retries < 0 or timeout <= 0:
            raise UsageError("retries must be >= 0 and timeout > 0")
        self.endpoint = predict_endpoint(url)
        self.server = self.endpoint[: -len(PREDICT_PATH)] or self.endpoint
        self.timeout, self.retries, self.token = timeout, retries, token
        self.backoff = Backoff(backoff, stop)
        self._session = requests.Session()  # keeps the connection alive across images where the server allows
        if token:
            self._session.headers["X-Api-Token"] = token

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def predict(self, image: bytes | str | os.PathLike, **params: Any) -> dict:
        """Detections for one image (bytes or a path); params: score_th, nms_iou, min_height, min_width,
        max_results, classes, model. Returns the server's result: model, image size, detections, timings_ms."""
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        [outcome] = self.predict_batch([data], **params)
        if isinstance(outcome, ImageProblem):
            raise outcome
        return outcome

    def predict_batch(self, images: Sequence[bytes], **params: Any) -> list[Outcome]:
        """One outcome per image, in order, from one request (split if the server finds it too large).

        Slots the server could not start in time (503/429) are sent again with backoff. A 429 with Retry-After
        (a rate limit pacing this client) is waited out without using up a retry. Raises what would fail every
        image: ServerUnreachable, AuthenticationError, ServerError, UsageError (a parameter the server refuses),
        Interrupted (the stop event was set while waiting to retry).
        """
        feature = features(**params)
        outcomes: list[Outcome | None] = [None] * len(images)
        pending = list(range(len(images)))
        attempt = paced = 0
        while True:
            self.backoff.check()
            last = attempt == self.retries
            try:
                slots = self._request([images[i] for i in pending], feature)
            except _Retry as retry:
                pacing = retry.paced and paced < MAX_PACED_WAITS
                if last and not pacing:
                    raise retry.final from None
                self.backoff.wait(attempt, retry.after)
                paced, attempt = (paced + 1, attempt) if pacing else (paced, attempt + 1)
                continue
            if slots is None:  # 413 for a batch: each half on its own
                half = len(pending) // 2
                for part in (pending[:half], pending[half:]):
                    for index, outcome in zip(part, self.predict_batch([images[i] for i in part], **params)):
                        outcomes[index] = outcome
                return outcomes  # type: ignore[return-value]
            again = []
            for index, slot in zip(pending, slots):
                if isinstance(slot, _Retry) and not last:
                    again.append(index)
                else:
                    outcomes[index] = slot.final if isinstance(slot, _Retry) else slot
            if not again:
                return outcomes  # type: ignore[return-value]
            asked = [slot.after for slot in slots if isinstance(slot, _Retry) and slot.after is not None]
            self.backoff.wait(attempt, max(asked) if asked else None)
            attempt += 1
            pending = again

    def server_info(self, model: str | None = None) -> ServerInfo:
        """What the server says about the model and its limits (GET /api/model), with fallbacks."""
        for attempt in range(self.retries + 1):
            try:
                response = self._get("/api/model", params={"model": model} if model else None)
                break
            except _Retry as retry:
                if attempt == self.retries:
                    raise retry.final from None
                self.backoff.wait(attempt, retry.after)
        model_info = _json_or_none(response) if response.status_code == 200 else None
        if model_info is not None and isinstance(model_info.get("limits"), dict):
            return ServerInfo.from_model_info(model_info)
        # An older server: the batch limit from its OpenAPI document, if it has one.
        try:
            openapi = _json_or_none(self._get("/api/openapi.json"))
        except _Retry:
            openapi = None
        return ServerInfo.from_model_info(model_info or {}, openapi)

    def _get(self, path: str, params: dict | None = None) -> requests.Response:
        """GET a path on the server; connection errors and 429/5xx-busy answers raise _Retry."""
        try:
            response = self._session.get(self.server + path, params=params, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise _Retry(self._unreachable(exc)) from None
        if response.status_code in RETRY_STATUSES:
            raise _Retry(self._error_for(response, _json_or_none(response)), _retry_after(response))
        return response

    def _request(self, images: list[bytes], feature: dict) -> list[Outcome | _Retry] | None:
        """One POST: an outcome or a _Retry per image, None when a batch was too large; raises _Retry when the
        whole request may be tried again, ClientError when no image can succeed."""
        encoded = [base64.b64encode(data).decode("ascii") for data in images]
        entries = [{"features": [feature], "image": {"content": content}} for content in encoded]
        body = {"requests": entries}
        try:
            response = self._session.post(self.endpoint, json=body, timeout=self.timeout)
        except requests.exceptions.ReadTimeout:
            # Not retried: the server is busy with these very images, sending them again adds load.
            message = f"no answer within {self.timeout:g} s (try a longer --timeout)"
            return [ImageFailed(message, None, "timeout") for _ in images]
        except requests.exceptions.RequestException as exc:
            raise _Retry(self._unreachable(exc)) from None
        answer = _json_or_none(response)
        slots = answer.get("responses") if isinstance(answer, dict) else None
        if isinstance(slots, list) and len(slots) == len(images) and "model" in answer:
            return [self._slot_outcome(slot, answer["model"], _retry_after(response)) for slot in slots]
        if response.status_code == 413 and len(images) > 1:
            return None
        error = self._error_for(response, answer)
        if response.status_code in RETRY_STATUSES:
            raise _Retry(error, _retry_after(response), response.status_code)
        if isinstance(error, ImageProblem):
            return [error for _ in images]
        raise error

    def _slot_outcome(self, slot: Any, model: str, retry_after: float | None) -> Outcome | _Retry:
        """One slot of an answer: the result, or the problem (a _Retry if another attempt may succeed)."""
        if not isinstance(slot, dict):
            return ImageFailed("the server's answer has no result for this image", None, "bad_answer")
        if "error" not in slot:
            return {"model": model, **slot}
        error = slot["error"] if isinstance(slot["error"], dict) else {}
        status = error.get("status") if isinstance(error.get("status"), int) else 500
        if status in RETRY_STATUSES:
            failure = ImageFailed(_slot_message(status, error, self.retries + 1), status, error.get("code", "error"))
            return _Retry(failure, retry_after)
        if status >= 500:
            return ImageFailed(_slot_message(status, error), status, error.get("code", "error"))
        rejection = _rejection(status, error)
        if rejection.code in PARAMETER_ERRORS:  # the same parameters go with every image: stop now
            raise UsageError(str(rejection))
        return rejection

    def _unreachable(self, exc: Exception) -> ServerUnreachable:
        """Why the server cannot be reached, for a person."""
        return ServerUnreachable(
            f"cannot reach the server at {self.server} ({_reason(exc)}) after {self.retries + 1} attempt(s); "
            "is it running, and is the URL right?"
        )

    def _error_for(self, response: requests.Response, answer: Any) -> Exception:
        """The ClientError that explains a non-200 answer without per-image slots."""
        status = response.status_code
        error = answer.get("error") if isinstance(answer, dict) else None
        error = error if isinstance(error, dict) else None
        detail = error.get("message", "") if error else ""
        if status in (401, 403):
            refused = "refused the API token given" if self.token else "needs a valid API token"
            detail = detail or "unauthorized"
            return AuthenticationError(f"the server {refused}: pass --token (HTTP {status}: {detail})")
        if status == 429 or status >= 500:
            what = {429: "is busy", 503: "is not ready"}.get(status, "failed")
            tries = f" after {self.retries + 1} attempt(s)" if status in RETRY_STATUSES else ""
            failure = ServerError(f"the server {what} (HTTP {status}{': ' + detail if detail else ''}){tries}")
            if status in RETRY_STATUSES:
                return failure  # the server as a whole: stops the run
            return ImageFailed(str(failure), status, (error or {}).get("code", "server_error"))
        if status == 413:  # a proxy in front may say so in HTML: still the image's size
            return _rejection(status, error or {"code": "request_too_large", "message": "request body too large"})
        if status in (404, 405) or error is None:
            return ServerUnreachable(
                f"{self.endpoint} is not a detection API (HTTP {status}); check the URL (the server root, "
                "e.g. http://localhost:5000, or its /api/predict)"
            )
        rejection = _rejection(status, error)
        return UsageError(str(rejection)) if rejection.code in PARAMETER_ERRORS else rejection


# Error codes about the parameters sent, not the image: the same parameters go with every image.
PARAMETER_ERRORS = ("invalid_parameter", "unknown_field")
# The prediction parameters, as `predict` and `features` take them (Python names; maxResults on the wire).
PARAMETERS = ("score_th", "nms_iou", "min_height", "min_width", "max_results", "classes", "model")


def features(
    score_th: float | None = None,
    nms_iou: float | None = None,
    min_height: float | None = None,
    min_width: float | None = None,
    max_results: int | None = None,
    classes: list[str | int] | None = None,
    model: str | None = None,
) -> dict:
    """The request's `features[0]`: only the parameters given (the server fills in its defaults)."""
    chosen = {
        "score_th": score_th,
        "nms_iou": nms_iou,
        "min_height": min_height,
        "min_width": min_width,
        "maxResults": max_results,
        "classes": classes,
        "model": model,
    }
    return {name: value for name, value in chosen.items() if value is not None}


def _rejection(status: int, error: dict) -> ImageRejected:
    """A 4xx about the image or its parameters, with the server's own message."""
    code, message = error.get("code", "error"), error.get("message", "")
    if status == 413:
        return ImageRejected(f"the image is too large for the server's limit (HTTP 413: {message})", status, code)
    if code in PARAMETER_ERRORS:
        return ImageRejected(f"the server rejected a parameter (HTTP {status}): {message}", status, code)
    return ImageRejected(f"the server rejected the image (HTTP {status} {code}): {message}", status, code)


def _slot_message(status: int, error: dict, attempts: int | None = None) -> str:
    """An image the server could not finish."""
    tries = f" after {attempts} attempt(s)" if attempts else ""
    code, message = error.get("code", "error"), error.get("message", "")
    return f"the server could not finish the image (HTTP {status} {code}: {message}){tries}"


def _retry_after(response: requests.Response) -> float | None:
    """The response's Retry-After in seconds, if any."""
    return retry_after_seconds(response.headers.get("Retry-After"))


def _json_or_none(response: requests.Response) -> Any:
    """The parsed JSON body, or None when it is not JSON (a proxy's HTML page, say)."""
    try:
        return response.json()
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    """'connection refused' rather than urllib3's paragraph."""
    match = _ERRNO_TEXT.search(str(exc))
    return match.group(1).strip().lower() if match else type(exc).__name__
