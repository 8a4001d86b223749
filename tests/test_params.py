"""PredictParams.from_mapping: defaults, "explicit 0 means 0", and clear errors for bad values."""

from __future__ import annotations

import re

import pytest

from inference import ParameterError, PredictParams

DEFAULTS = PredictParams(score_th=0.3, nms_iou=0.4, min_height=0.03, min_width=0.03, max_results=20, classes=None)


@pytest.mark.parametrize("values", [None, {}, {"score_th": None, "nms_iou": None, "maxResults": None, "classes": None}])
def test_missing_or_null_fields_take_the_defaults(values) -> None:
    assert PredictParams.from_mapping(values) == DEFAULTS == PredictParams()


def test_explicit_zero_stays_zero() -> None:
    zeros = {"score_th": 0, "nms_iou": 0, "min_height": 0, "min_width": 0, "maxResults": 0}
    params = PredictParams.from_mapping(zeros)
    assert (params.score_th, params.nms_iou, params.min_height, params.min_width, params.max_results) == (0, 0, 0, 0, 0)


def test_given_values_are_used_with_their_types() -> None:
    params = PredictParams.from_mapping({"score_th": 1, "nms_iou": 0.55, "min_height": 1.0, "maxResults": 1000.0})
    assert (params.score_th, params.nms_iou, params.min_height, params.max_results) == (1.0, 0.55, 1.0, 1000)
    assert isinstance(params.score_th, float) and isinstance(params.max_results, int)


def test_unknown_fields_are_ignored() -> None:
    assert PredictParams.from_mapping({"colour": "red"}) == DEFAULTS


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"score_th": float("nan")}, "score_th must be a finite number, got nan"),
        ({"nms_iou": float("inf")}, "nms_iou must be a finite number, got inf"),
        ({"min_width": float("-inf")}, "min_width must be a finite number"),
        ({"score_th": True}, "score_th must be a number, got bool"),
        ({"maxResults": False}, "maxResults must be a number, got bool"),
        ({"score_th": "0.5"}, "score_th must be a number, got str"),
        ({"score_th": [0.5]}, "score_th must be a number, got list"),
        ({"score_th": -0.01}, "score_th must be between 0.0 and 1.0, got -0.01"),
        ({"min_height": 1.5}, "min_height must be between 0.0 and 1.0, got 1.5"),
        ({"nms_iou": 10**400}, "nms_iou must be between 0.0 and 1.0"),  # an int JSON allows, too big for a float
        ({"maxResults": -1}, "maxResults must be between 0 and 1000, got -1"),
        ({"maxResults": 1001}, "maxResults must be between 0 and 1000, got 1001"),
        ({"maxResults": 10**30}, "maxResults must be between 0 and 1000"),
        ({"maxResults": 2.5}, "maxResults must be a whole number, got 2.5"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(values, message) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        PredictParams.from_mapping(values)


@pytest.mark.parametrize("values", [[0.5], "score_th=0.5", 3])
def test_features_must_be_an_object(values) -> None:
    with pytest.raises(ParameterError, match="features must be an object"):
        PredictParams.from_mapping(values)


def test_parameter_error_is_a_value_error() -> None:
    assert issubclass(ParameterError, ValueError)


def test_form_strings_are_numbers_when_allowed() -> None:
    form = {"score_th": " 0.25 ", "nms_iou": "0", "min_height": "", "maxResults": "5", "classes": ""}
    params = PredictParams.from_mapping(form, strings_allowed=True)
    assert (params.score_th, params.nms_iou, params.min_height, params.max_results) == (0.25, 0.0, 0.03, 5)
    assert params.classes is None  # an empty field means every class


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"score_th": "abc"}, "score_th must be a number, got 'abc'"),
        ({"score_th": "nan"}, "score_th must be a finite number"),
        ({"score_th": "1e400"}, "score_th must be a finite number"),
        ({"maxResults": "5.5"}, "maxResults must be a whole number, got 5.5"),
        ({"min_width": "2"}, "min_width must be between 0.0 and 1.0, got 2.0"),
    ],
)
def test_bad_form_strings_are_refused(values, message) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        PredictParams.from_mapping(values, strings_allowed=True)


def test_classes_list_of_names_and_ids() -> None:
    assert PredictParams.from_mapping({"classes": ["person", 2]}).classes == ("person", 2)


def test_classes_from_a_comma_separated_form_field() -> None:
    params = PredictParams.from_mapping({"classes": "person, 2 ,cat,"}, strings_allowed=True)
    assert params.classes == ("person", 2, "cat")


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ([], "classes must be a non-empty list"),
        ("person", "classes must be a non-empty list"),  # a JSON string is not a list
        ([True], "classes must hold class names or ids, got True"),
        ([1.5], "classes must hold class names or ids, got 1.5"),
        ([["person"]], "classes must hold class names or ids"),
    ],
)
def test_bad_classes_are_refused(classes, message) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        PredictParams.from_mapping({"classes": classes})


def test_classes_at_the_limit_are_accepted_and_one_more_is_refused_before_any_work() -> None:
    from inference.params import REQUEST_LIMITS

    names = ["person"] * REQUEST_LIMITS.classes
    assert len(PredictParams.from_mapping({"classes": names}).classes) == REQUEST_LIMITS.classes
    with pytest.raises(
        ParameterError, match=f"classes may hold at most {REQUEST_LIMITS.classes} names or ids, got 1000000"
    ):
        PredictParams.from_mapping({"classes": ["person"] * 1_000_000})
    form = ",".join(["person"] * (REQUEST_LIMITS.classes + 1))
    with pytest.raises(ParameterError, match="classes may hold at most"):
        PredictParams.from_mapping({"classes": form}, strings_allowed=True)


@pytest.mark.parametrize("strings_allowed", [False, True])
def test_long_class_names_and_form_fields_are_refused_without_echoing_them(strings_allowed) -> None:
    from inference.params import REQUEST_LIMITS

    longest = "x" * REQUEST_LIMITS.class_name
    too_long = longest + "x"
    given = (lambda names: ",".join(names)) if strings_allowed else list
    assert PredictParams.from_mapping({"classes": given([longest])}, strings_allowed=strings_allowed).classes == (
        longest,
    )
    with pytest.raises(ParameterError, match=f"at most {REQUEST_LIMITS.class_name} characters, got {len(too_long)}$"):
        PredictParams.from_mapping({"classes": given([too_long])}, strings_allowed=strings_allowed)
    digits = "9" * 5000  # int() of this many digits raises in Python: it must stay a (too long) name
    with pytest.raises(ParameterError, match="at most"):
        PredictParams.from_mapping({"classes": given([digits])}, strings_allowed=strings_allowed)


def test_a_form_class_field_longer_than_any_allowed_list_is_refused_before_splitting() -> None:
    from inference.params import REQUEST_LIMITS

    field = "," * (REQUEST_LIMITS.classes_field + 1)
    with pytest.raises(ParameterError, match=f"classes may be at most {REQUEST_LIMITS.classes_field} characters"):
        PredictParams.from_mapping({"classes": field}, strings_allowed=True)


def test_a_nested_value_in_classes_is_named_by_its_kind_not_printed() -> None:
    with pytest.raises(ParameterError, match=r"got a list$"):
        PredictParams.from_mapping({"classes": [list(range(100_000))]})
