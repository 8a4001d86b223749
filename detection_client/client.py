"""DetectionClient: post images to /api/predict in the origin's JSON shape, with bounded retries."""
from __future__ import annotations

import base64
import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from .errors import AuthenticationError, ImageRejected, ServerError, ServerUnreachable, UsageError

PREDICT_PATH = "/api/predict"
RETRY_STATUSES = {502, 503, 504}  # not ready yet, or a proxy in front of a restarting server
MAX_BACKOFF_SECONDS = 8.0
_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


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


class DetectionClient:
    """Client of one server: `DetectionClient(url, token).predict("photo.jpg", score_th=0.5)`."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        if retries < 0 or timeout <= 0:
            raise UsageError("retries must be >= 0 and timeout > 0")
        self.endpoint = predict_endpoint(url)
        self.server = self.endpoint[: -len(PREDICT_PATH)] or self.endpoint
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.token = token
        self._session = requests.Session()  # keeps the connection alive across images
        if token:
            self._session.headers["X-Api-Token"] = token

    def __enter__(self) -> DetectionClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def predict(self, image: bytes | str | os.PathLike, **params: Any) -> dict:
        """Detections for one image (bytes or a path); params: score_th, nms_iou, min_height, min_width,
        max_results, classes. Returns the server's result: model, image size, detections, timings_ms."""
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        body = {"requests": [{"features": [features(**params)], "image": {"content": base64.b64encode(data).decode("ascii")}}]}
        response = self._post_with_retries(body)
        answer = _json_or_none(response)
        if response.status_code != 200:
            raise self._error_for(response, answer)
        try:
            result = answer["responses"][0]
            model = answer["model"]
        except (TypeError, KeyError, IndexError):
            raise ServerError(f"the answer from {self.endpoint} is not the detection API's JSON") from None
        if "error" in result:
            raise _rejection(result["error"].get("status", 422), result["error"])
        return {"model": model, **result}

    def _post_with_retries(self, body: dict) -> requests.Response:
        """POST, retrying connection failures and 502/503/504 with exponential backoff (bounded)."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                response = self._session.post(self.endpoint, json=body, timeout=self.timeout)
            except requests.exceptions.ReadTimeout:
                # Not retried: the server is busy with this very image, sending it again adds load.
                raise ServerUnreachable(
                    f"the server at {self.server} did not answer within {self.timeout:g} s; try a longer --timeout"
                ) from None
            except requests.exceptions.ConnectionError as exc:
                if attempt == attempts - 1:
                    raise ServerUnreachable(
                        f"cannot reach the server at {self.server} ({_reason(exc)}) after {attempts} attempt(s); "
                        "is it running, and is the URL right?"
                    ) from None
                time.sleep(self._delay(attempt, None))
                continue
            if response.status_code not in RETRY_STATUSES or attempt == attempts - 1:
                return response
            time.sleep(self._delay(attempt, response))
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _delay(self, attempt: int, response: requests.Response | None) -> float:
        """Seconds before the next attempt: the server's Retry-After if given, else doubling; capped."""
        retry_after = response.headers.get("Retry-After", "") if response is not None else ""
        delay = float(retry_after) if retry_after.isdigit() else self.backoff * 2**attempt
        return min(delay, MAX_BACKOFF_SECONDS)

    def _error_for(self, response: requests.Response, answer: Any) -> Exception:
        """The ClientError that explains a non-200 answer."""
        status = response.status_code
        error = answer.get("error") if isinstance(answer, dict) else None
        detail = error.get("message", "") if isinstance(error, dict) else ""
        if status in (401, 403):
            refused = "refused the API token given" if self.token else "needs a valid API token"
            return AuthenticationError(f"the server {refused}: pass --token (HTTP {status}: {detail or 'unauthorized'})")
        if status >= 500:
            what = "is not ready" if status == 503 else "failed"
            tries = f" after {self.retries + 1} attempt(s)" if status in RETRY_STATUSES else ""
            return ServerError(f"the server {what} (HTTP {status}{': ' + detail if detail else ''}){tries}")
        if status == 413:  # a proxy in front may say so in HTML: still the image's size
            return _rejection(status, error or {"code": "request_too_large", "message": "request body too large"})
        if status in (404, 405) or error is None:
            return ServerUnreachable(
                f"{self.endpoint} is not a detection API (HTTP {status}); check the URL (the server root, "
                "e.g. http://localhost:5000, or its /api/predict)"
            )
        return _rejection(status, error)


# The prediction parameters, as `predict` and `features` take them (Python names; maxResults on the wire).
PARAMETERS = ("score_th", "nms_iou", "min_height", "min_width", "max_results", "classes")


def features(
    score_th: float | None = None,
    nms_iou: float | None = None,
    min_height: float | None = None,
    min_width: float | None = None,
    max_results: int | None = None,
    classes: list[str | int] | None = None,
) -> dict:
    """The request's `features[0]`: only the parameters given (the server fills in its defaults)."""
    chosen = {"score_th": score_th, "nms_iou": nms_iou, "min_height": min_height, "min_width": min_width,
              "maxResults": max_results, "classes": classes}  # fmt: skip
    return {name: value for name, value in chosen.items() if value is not None}


def _rejection(status: int, error: dict) -> ImageRejected:
    """A 4xx about the image or its parameters, with the server's own message."""
    code, message = error.get("code", "error"), error.get("message", "")
    if status == 413:
        return ImageRejected(f"the image is too large for the server's limit (HTTP 413: {message})", status, code)
    if code == "invalid_parameter":
        return ImageRejected(f"the server rejected a parameter (HTTP {status}): {message}", status, code)
    return ImageRejected(f"the server rejected the image (HTTP {status} {code}): {message}", status, code)


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
