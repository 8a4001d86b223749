"""The keys a prediction request may hold at each place, and the 422 that names an unknown one.

The one declaration of the request's keys: webapp/openapi.yaml lists the same properties (a test keeps them equal)
and closes each object with `additionalProperties: false`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from inference.params import REQUEST_FIELDS

from .errors import ApiError

# Each place of the JSON body -> the keys it may hold, in the order the docs list them.
BODY = "the body"
ENTRY = "requests[]"
IMAGE = "requests[].image"
FEATURES = "requests[].features[0]"
JSON_KEYS: dict[str, tuple[str, ...]] = {
    BODY: ("requests",),
    ENTRY: ("features", "image"),
    IMAGE: ("content", "sha256"),
    FEATURES: (*REQUEST_FIELDS, "model", "annotate"),
}
# A multipart (or urlencoded) form: one level, files and fields alike.
FORM = "the form"
FORM_KEYS: tuple[str, ...] = ("image", "image_sha256", *REQUEST_FIELDS, "model", "annotate")

UNKNOWN_FIELD = "unknown_field"
_SHOWN_CHARS = 80  # of an unknown key, in the message


def reject_unknown_keys(keys: Iterable[str], place: str, where: str | None = None) -> ApiError | None:
    """A 422 naming the first key not allowed at `place` (JSON_KEYS' or FORM), or None when all are known.

    `where` is the place as the message shows it (e.g. requests[2].features[0]); the place's name by default.
    """
    allowed = FORM_KEYS if place == FORM else JSON_KEYS[place]
    unknown = [key for key in keys if key not in allowed]
    if not unknown:
        return None
    key = unknown[0][:_SHOWN_CHARS]
    where = where or place
    kind = "field" if place == FORM else "key"
    others = f" (and {len(unknown) - 1} more unknown)" if len(unknown) > 1 else ""
    message = f"unknown {kind} `{key}` in {where}{others}: it holds only {_listing(allowed)}."
    home = _home_of(key) if place != FORM else None
    if home is not None:
        message += f" `{key}` goes in {home}."
    elif hint := _did_you_mean(key, allowed):
        message += f" Did you mean `{hint}`?"
    elif place != FORM and (elsewhere := _did_you_mean_elsewhere(key)):
        message += f" Did you mean `{elsewhere[0]}` (in {elsewhere[1]})?"
    return ApiError(422, UNKNOWN_FIELD, message)


def reject_unknown_entry_keys(index: int, entry: Mapping) -> ApiError | None:
    """The 422 for an unknown key in one element of `requests`, its `image` or an object of its `features`."""
    where = f"requests[{index}]"
    error = reject_unknown_keys(_keys_of(entry), ENTRY, where)
    error = error or reject_unknown_keys(_keys_of(entry.get("image")), IMAGE, f"{where}.image")
    features = entry.get("features")
    for position, feature in enumerate(features if isinstance(features, list) else []):
        error = error or reject_unknown_keys(_keys_of(feature), FEATURES, f"{where}.features[{position}]")
    return error


def _home_of(key: str) -> str | None:
    """The place of the JSON body where `key` belongs, if any."""
    return next((place for place, keys in JSON_KEYS.items() if key in keys), None)


def _did_you_mean(key: str, allowed: tuple[str, ...]) -> str | None:
    """The allowed key closest to a misspelt one (case and separators ignored first)."""
    folded = {_fold(name): name for name in allowed}
    if _fold(key) in folded:
        return folded[_fold(key)]
    matches = difflib.get_close_matches(key.lower(), [name.lower() for name in allowed], n=1, cutoff=0.6)
    return next((name for name in allowed if matches and name.lower() == matches[0]), None)


def _did_you_mean_elsewhere(key: str) -> tuple[str, str] | None:
    """(the closest key, its place) over every place of the JSON body."""
    for place, keys in JSON_KEYS.items():
        if hint := _did_you_mean(key, keys):
            return hint, place
    return None


def _fold(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _listing(keys: tuple[str, ...]) -> str:
    return ", ".join(f"`{key}`" for key in keys)


def _keys_of(value: object) -> list[str]:
    """The keys of a JSON object (nothing for any other value: its own checks say what is wrong)."""
    return list(value) if isinstance(value, Mapping) else []
