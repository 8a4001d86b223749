"""Request bodies (origin JSON shape or multipart form) -> prediction tasks, one per result slot."""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import pybase64
from werkzeug.datastructures import FileStorage, MultiDict

from inference import ParameterError, PredictParams
from inference.params import REQUEST_FIELDS, REQUEST_LIMITS
from serving.settings import FALSE_WORDS, TRUE_WORDS

from .contract_keys import BODY, FORM, reject_unknown_entry_keys, reject_unknown_keys
from .errors import ApiError
from .models import ServedModel

_DATA_URL_PREFIX = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)
_HEAD = 256  # characters searched for a data-URL prefix
_WHITESPACE = b" \t\n\r\v\f"
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_TRUE_WORDS = set(TRUE_WORDS)
_FALSE_WORDS = {"", *FALSE_WORDS}  # an empty form field is unticked


@dataclass(frozen=True)
class PredictionTask:
    """One image to predict on (its bytes, or only the sha256 of bytes sent before), with its parameters."""

    image: bytes | None
    sha256: str  # lowercase hex of the image bytes
    model: ServedModel
    params: PredictParams
    annotate: bool = False


SlotInput = PredictionTask | ApiError  # a bad entry becomes an error in its own slot
# A model name from the request (None = the default) -> the model; ParameterError for an unknown name.
ModelResolver = Callable[[str | None], ServedModel]


def parse_json_body(body: bytes, max_batch: int, resolve_model: ModelResolver) -> list[SlotInput]:
    """The origin's {"requests": [{"image": {"content": b64}, "features": [{...}]}]} shape."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ApiError(400, "malformed_request", f"the body must be a JSON object, got {_kind(document)}")
    if unknown := reject_unknown_keys(document, BODY):
        raise unknown
    entries = document.get("requests")
    if not isinstance(entries, list) or not entries:
        raise ApiError(400, "malformed_request", 'the body must have "requests": a non-empty list')
    _check_batch_size(len(entries), max_batch)
    return [_parse_entry(index, entry, resolve_model) for index, entry in enumerate(entries)]


def parse_form(form: MultiDict, files: MultiDict, max_batch: int, resolve_model: ModelResolver) -> list[SlotInput]:
    """multipart/form-data: one or more files in field `image` (or `image_sha256`), parameters as form fields."""
    if unknown := reject_unknown_keys([*form, *files], FORM):
        raise unknown
    uploads: list[FileStorage] = files.getlist("image")
    hashes = form.getlist("image_sha256")
    if not uploads and not hashes:
        raise ApiError(400, "missing_image", 'the form has no file field named "image" (nor an "image_sha256" field)')
    _check_batch_size(len(uploads) + len(hashes), max_batch)
    try:
        model = resolve_model(_model_name(form.get("model") or None))
        params = PredictParams.from_mapping(_form_features(form), strings_allowed=True, defaults=model.default_params)
        annotate = _form_flag(form.get("annotate", ""))
    except ParameterError as exc:
        return [ApiError(422, "invalid_parameter", str(exc)) for _ in range(len(uploads) + len(hashes))]
    tasks: list[SlotInput] = []
    for upload in uploads:
        data = upload.read()
        tasks.append(PredictionTask(data, hashlib.sha256(data).hexdigest(), model, params, annotate))
    for digest in hashes:
        tasks.append(_reference_task(digest, "image_sha256", model, params, annotate))
    return tasks


def _parse_entry(index: int, entry: Any, resolve_model: ModelResolver) -> SlotInput:
    """One element of `requests`; errors name the field's path."""
    where = f"requests[{index}]"
    if not isinstance(entry, dict):
        return ApiError(400, "malformed_request", f"{where} must be an object, got {_kind(entry)}")
    if unknown := reject_unknown_entry_keys(index, entry):
        return unknown
    image = entry.get("image")
    has_content = isinstance(image, dict) and isinstance(image.get("content"), str)
    has_sha256 = isinstance(image, dict) and isinstance(image.get("sha256"), str)
    if not has_content and not has_sha256:
        return ApiError(
            400, "malformed_request", f"{where}.image.content must be a base64 string (or image.sha256 a hash)"
        )
    features = entry.get("features")
    if features is None:
        features = [{}]
    if not isinstance(features, list):
        return ApiError(400, "malformed_request", f"{where}.features must be a list, got {_kind(features)}")
    if len(features) > REQUEST_LIMITS.features:
        return ApiError(
            422,
            "invalid_parameter",
            f"{where}.features may hold at most {REQUEST_LIMITS.features} "
            f"entries (only the first is read), got {len(features)}",
        )
    feature = features[0] if features else {}
    if feature is None:
        feature = {}
    if not isinstance(feature, Mapping):
        return ApiError(400, "malformed_request", f"{where}.features[0] must be an object, got {_kind(feature)}")
    try:
        requested = feature.get("model")
        if requested is not None and not isinstance(requested, str):
            raise ParameterError(f"model must be the name of a model (GET /api/models), got {_kind(requested)}")
        model = resolve_model(_model_name(requested))
        params = PredictParams.from_mapping(feature, defaults=model.default_params)
    except ParameterError as exc:
        return ApiError(422, "invalid_parameter", f"{where}.features[0]: {exc}")
    annotate = feature.get("annotate", False)
    if not isinstance(annotate, bool) and annotate is not None:
        return ApiError(422, "invalid_parameter", f"{where}.features[0].annotate must be true or false")
    if not has_content:
        return _reference_task(image["sha256"], f"{where}.image.sha256", model, params, bool(annotate))
    try:
        data = decode_base64(image["content"])
    except ApiError as exc:
        return ApiError(exc.status, exc.code, f"{where}.image.content: {exc.message}")
    return PredictionTask(data, hashlib.sha256(data).hexdigest(), model, params, bool(annotate))


def _reference_task(digest: str, where: str, model: ServedModel, params: PredictParams, annotate: bool) -> SlotInput:
    """A task naming bytes sent before by their sha256."""
    if not _SHA256.match(digest):
        return ApiError(422, "invalid_sha256", f"{where} must be 64 hexadecimal digits, got {digest[:80]!r}")
    if annotate:
        return ApiError(422, "invalid_parameter", f"{where}: annotate needs the image bytes, not only their sha256")
    return PredictionTask(None, digest.lower(), model, params, False)


def decode_base64(content: str) -> bytes:
    """Standard base64, tolerating a data-URL prefix, whitespace and missing padding."""
    try:
        # Clean base64 (what clients send) with SIMD: about 25 times binascii's speed. It accepts a subset of what
        # binascii's strict mode does (tests/test_properties.py), which decides the rest.
        return pybase64.b64decode(content, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        pass
    try:
        return binascii.a2b_base64(content, strict_mode=True)
    except ValueError:  # binascii.Error, or non-ASCII text: take the tolerant path and its messages
        pass
    # Each step below is one C pass making at most one copy: a regex substitution over 19 MB with whitespace
    # every other character built millions of pieces (1.9 GB).
    head = content[:_HEAD].lstrip()
    if head[:5].lower() == "data:" and (prefix := _DATA_URL_PREFIX.match(head)):
        content = content[min(len(content), _HEAD) - len(head) + prefix.end() :]
    try:
        raw = content.encode("ascii").translate(None, _WHITESPACE)
    except UnicodeEncodeError:
        raise ApiError(422, "invalid_base64", "not base64: it holds non-ASCII characters") from None
    if raw.translate(None, _BASE64_ALPHABET):
        raise ApiError(422, "invalid_base64", "not base64: it holds characters outside the base64 alphabet")
    if len(raw) % 4 == 1:
        raise ApiError(422, "invalid_base64", "not base64: its length is impossible (truncated?)")
    if len(raw) % 4:
        raw += b"=" * (-len(raw) % 4)
    try:
        return binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error as exc:
        raise ApiError(422, "invalid_base64", f"not base64: {exc}") from None


def _form_features(form: MultiDict) -> dict[str, str]:
    """Form fields that are prediction parameters."""
    return {name: form[name] for name in REQUEST_FIELDS if name in form}


def _model_name(requested: str | None) -> str | None:
    """A request's model name, refused when longer than any name could be."""
    if requested is not None and len(requested) > REQUEST_LIMITS.model_name:
        raise ParameterError(f"model may be at most {REQUEST_LIMITS.model_name} characters, got {len(requested)}")
    return requested


def _form_flag(value: str) -> bool:
    """A checkbox-like form value."""
    lowered = value.strip().lower()
    if lowered in _TRUE_WORDS:
        return True
    if lowered in _FALSE_WORDS:
        return False
    raise ParameterError(f"annotate must be true or false, got {value[:40]!r}")


def _check_batch_size(count: int, max_batch: int) -> None:
    """Refuse batches over the configured size."""
    if count > max_batch:
        raise ApiError(413, "batch_too_large", f"{count} images in one request; the limit is {max_batch}")


def _kind(value: Any) -> str:
    """JSON name of a value's type, for error messages."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
