"""Property tests (hypothesis) of request parsing: any JSON is a clean 4xx or a task, never a crash or a 5xx."""

from __future__ import annotations

import base64
import binascii
import io
import math

import orjson
import pybase64
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference import ParameterError, PredictParams
from inference.params import PARAMETERS, REQUEST_FIELDS
from serving.settings import SETTINGS_BY_NAME
from webapp.errors import ApiError
from webapp.models import ServedModel
from webapp.parsing import PredictionTask, decode_base64, parse_json_body

MAX_BATCH = SETTINGS_BY_NAME["MAX_BATCH"].default
FEATURE_NAMES = [*REQUEST_FIELDS, "annotate"]

# Any JSON value orjson can write (its integers are 64-bit at most).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=15,
)
# Documents close to the real shape, so the deeper checks are reached too.
base64_like = st.binary(max_size=64).map(lambda data: base64.b64encode(data).decode()) | st.text(
    alphabet="ABCDabcd0123+/=-_:;,. \n\u00e9", max_size=24
)
features = st.dictionaries(
    st.sampled_from(FEATURE_NAMES), json_values | st.floats(-2, 2) | st.integers(-5, 2000), max_size=5
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "image": st.fixed_dictionaries({}, optional={"content": base64_like | json_values}) | json_values,
        "features": st.lists(features | json_values, max_size=2) | json_values,
    },
)
shaped_documents = st.fixed_dictionaries({"requests": st.lists(entries | json_values, max_size=4) | json_values})
documents = shaped_documents | json_values


def examples(full_run: int) -> int:
    """`full_run` examples under hypothesis' default profile (100 per test), proportionally fewer under `make check`'s."""
    return max(10, full_run * settings.default.max_examples // 100)


PROPERTY_SETTINGS = settings(max_examples=examples(300), deadline=None)


ONE_MODEL = ServedModel("yolox_nano", detector=None)  # parsing never touches the detector


def one_model(requested: str | None) -> ServedModel:
    """A server with one model, as the API's resolver answers: the model, or ParameterError for another."""
    if requested not in (None, "yolox_nano"):
        raise ParameterError(f"unknown model {requested!r}")
    return ONE_MODEL


def expect_api_error(error: ApiError) -> None:
    """A client error with a status the API contract lists and a message a person can read."""
    assert error.status in (400, 413, 422)
    assert error.code and error.message


def expect_slots(body: bytes) -> None:
    """`body` parses to one slot per entry of `requests` (a task, or that entry's client error), or fails whole."""
    try:
        slots = parse_json_body(body, MAX_BATCH, one_model)
    except ApiError as error:
        expect_api_error(error)
        return
    entries = orjson.loads(body)["requests"]  # it parsed: a JSON object with a list of entries
    assert 1 <= len(slots) == len(entries) <= MAX_BATCH
    for slot, entry in zip(slots, entries, strict=True):
        if isinstance(slot, ApiError):
            expect_api_error(slot)
            continue
        assert isinstance(slot, PredictionTask) and isinstance(slot.image, bytes) and slot.model is ONE_MODEL
        assert_params_in_range(slot.params)
        features = entry.get("features")
        assert_params_match(slot.params, features[0] if features else None, strings_allowed=False)


@PROPERTY_SETTINGS
@given(documents)
def test_any_json_document_parses_to_slots_or_a_client_error(document):
    expect_slots(orjson.dumps(document))


@PROPERTY_SETTINGS
@given(st.binary(max_size=200) | documents.map(orjson.dumps).map(lambda body: body[: len(body) // 2 or None]))
def test_any_bytes_parse_or_fail_as_a_client_error(body):
    expect_slots(body)


@PROPERTY_SETTINGS
@given(st.text(max_size=100))
def test_decode_base64_returns_bytes_or_invalid_base64(text):
    try:
        assert isinstance(decode_base64(text), bytes)
    except ApiError as error:
        assert (error.status, error.code) == (422, "invalid_base64")


@PROPERTY_SETTINGS
@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n é!", max_size=40)
    | st.tuples(st.binary(max_size=30), st.text(alphabet="=\n é!A", max_size=3)).map(
        lambda pair: base64.b64encode(pair[0]).decode() + pair[1]  # valid, or valid with something after it
    )
)
def test_the_fast_base64_decoder_accepts_only_what_binascii_strict_mode_accepts_and_decodes_it_alike(text):
    """parsing.decode_base64 tries pybase64 first: what it accepts, binascii's strict mode (the decoder before it)
    must accept and decode to the same bytes, so the fast path changes no answer."""
    try:
        fast = pybase64.b64decode(text, validate=True)
    except ValueError:
        return
    assert binascii.a2b_base64(text, strict_mode=True) == fast


@PROPERTY_SETTINGS
@given(st.binary(max_size=300), st.sampled_from(["plain", "data_url", "line_breaks", "no_padding", "spaces"]))
def test_decode_base64_round_trips_every_accepted_spelling(data, spelling):
    text = base64.b64encode(data).decode()
    if spelling == "data_url":
        text = "data:image/png;base64," + text
    elif spelling == "line_breaks":
        text = base64.encodebytes(data).decode()
    elif spelling == "no_padding":
        text = text.rstrip("=")
    elif spelling == "spaces":
        text = f"  {text}\n"
    assert decode_base64(text) == data


@PROPERTY_SETTINGS
@given(st.dictionaries(st.sampled_from(FEATURE_NAMES) | st.text(max_size=5), json_values, max_size=6) | json_values)
def test_params_from_any_mapping_are_valid_or_a_parameter_error(values):
    try:
        params = PredictParams.from_mapping(values)
    except ParameterError:
        return
    assert_params_in_range(params)
    assert_params_match(params, values, strings_allowed=False)


@PROPERTY_SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(FEATURE_NAMES), st.text(max_size=12) | st.sampled_from(["nan", "inf", "-0", "1e9", " 0.5 "])
    )
)
def test_form_strings_are_valid_params_or_a_parameter_error(values):
    try:
        params = PredictParams.from_mapping(values, strings_allowed=True)
    except ParameterError:
        return
    assert_params_in_range(params)
    assert_params_match(params, values, strings_allowed=True)


def assert_params_in_range(params: PredictParams) -> None:
    """Every field of its declared type, finite and inside its declared range (inference/params.py)."""
    for parameter in PARAMETERS:
        value = getattr(params, parameter.attribute)
        assert type(value) is parameter.kind, parameter.name
        assert math.isfinite(value) and parameter.minimum <= value <= parameter.maximum, parameter.name


def assert_params_match(params: PredictParams, values: object, *, strings_allowed: bool) -> None:
    """Each field is what the request said, or its declared default where it said nothing."""
    values = values if isinstance(values, dict) else {}
    for parameter in PARAMETERS:
        raw = values.get(parameter.name)
        if raw is None or (strings_allowed and raw == ""):
            expected = parameter.default
        else:
            expected = float(raw.strip()) if isinstance(raw, str) else raw
        assert getattr(params, parameter.attribute) == expected, parameter.name


def declared_range(parameter) -> st.SearchStrategy:
    """Any value inside a parameter's declared range."""
    if parameter.kind is int:
        return st.integers(parameter.minimum, parameter.maximum)
    return st.floats(min_value=parameter.minimum, max_value=parameter.maximum)


valid_features = st.fixed_dictionaries(
    {},
    optional={
        **{parameter.name: declared_range(parameter) | st.none() for parameter in PARAMETERS},
        "annotate": st.booleans() | st.none(),
    },
)


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=100), valid_features), min_size=1, max_size=MAX_BATCH))
def test_valid_requests_round_trip(items):
    document = {
        "requests": [
            {"image": {"content": base64.b64encode(data).decode()}, "features": [feature]} for data, feature in items
        ]
    }
    slots = parse_json_body(orjson.dumps(document), MAX_BATCH, one_model)
    assert len(slots) == len(items)
    for slot, (data, feature) in zip(slots, items, strict=True):
        assert isinstance(slot, PredictionTask)
        assert slot.image == data
        assert_params_match(slot.params, feature, strings_allowed=False)
        assert slot.annotate is bool(feature.get("annotate"))


# Through the whole app: the test client, every hook and error handler.
CLIENT_SETTINGS = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@CLIENT_SETTINGS
@given(documents)
def test_any_json_document_gets_a_json_answer_and_never_a_5xx(app, document):
    response = app.test_client().post("/api/predict", data=orjson.dumps(document), content_type="application/json")
    assert response.status_code in (200, 400, 413, 422), response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    if response.status_code != 200:
        assert response.get_json()["error"]["status"] == response.status_code


@CLIENT_SETTINGS
@given(
    st.dictionaries(st.sampled_from(FEATURE_NAMES), st.text(max_size=12), max_size=4),
    st.binary(max_size=64),
    st.text(max_size=30),
)
def test_any_form_gets_a_json_answer_and_never_a_5xx(app, fields, image, filename):
    data = {**fields, "image": (io.BytesIO(image), filename or "x.jpg", "image/jpeg")}
    response = app.test_client().post("/api/predict", data=data, content_type="multipart/form-data")
    assert response.status_code in (200, 400, 413, 422), response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
