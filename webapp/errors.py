"""One JSON error shape for the API, and the HTTP status for each kind of failure."""

from __future__ import annotations

from flask import Response
from werkzeug.exceptions import HTTPException

from inference import (
    CorruptImageError,
    EmptyImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    InferenceError,
    ModelError,
    ParameterError,
    UnsupportedImageError,
)
from serving.contract import error_body

from .responses import json_response

# Machine-readable codes for the errors the inference package raises; all are the caller's fault.
_INFERENCE_ERROR_CODES = {
    EmptyImageError: "empty_image",
    UnsupportedImageError: "unsupported_image",
    CorruptImageError: "corrupt_image",
    ImageTooLargeError: "image_too_large",
    ImageTooSmallError: "image_too_small",
    ParameterError: "invalid_parameter",
}


class ApiError(Exception):
    """An error to answer with `status` and a message a person can act on."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def to_dict(self) -> dict:
        """The JSON body's `error` object."""
        return error_body(self.status, self.code, self.message)["error"]

    @classmethod
    def from_inference(cls, exc: InferenceError) -> ApiError:
        """422 for an image or parameter the caller sent that we cannot use; 500 when the model itself failed."""
        if isinstance(exc, ModelError):  # the server's fault, not the caller's: say so, keep details in the log
            return cls(500, "model_failed", "the model failed to run on this image; the server's log has the details")
        code = next((c for kind, c in _INFERENCE_ERROR_CODES.items() if isinstance(exc, kind)), "invalid_input")
        return cls(422, code, str(exc))


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    """A JSON error response."""
    response = json_response(error_body(status, code, message), status)
    response.headers.update(headers or {})
    return response


def http_exception_response(exc: HTTPException) -> Response:
    """Werkzeug's HTML errors (404, 405, 413, ...) as JSON."""
    code = (exc.name or "error").lower().replace(" ", "_")
    headers = dict(exc.get_headers()) if exc.code == 405 else {}
    headers.pop("Content-Type", None)
    return error_response(exc.code or 500, code, exc.description or exc.name, headers)
