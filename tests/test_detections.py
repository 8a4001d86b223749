"""Detections: shape checks, empty(), and its wire form (webapp.wire)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference import Detections
from webapp.wire import detections_slot

NAMES = ("person", "bicycle", "cat")


def two_detections() -> Detections:
    """A person and a cat on a 640x480 image."""
    return Detections(
        xyxy=np.array([[10.04, 20.26, 330.0, 480.0], [0.0, 0.0, 213.3333, 160.0]], np.float32),
        confidence=np.array([0.912345, 0.5], np.float32),
        class_id=np.array([0, 2], np.int64),
        class_names=NAMES,
        image_size=(640, 480),
    )


@pytest.mark.parametrize(
    ("xyxy", "confidence", "class_id", "message"),
    [
        (np.zeros((2, 5)), np.zeros(2), np.zeros(2, int), r"xyxy: expected shape \(n, 4\), got \(2, 5\)"),
        (np.zeros(4), np.zeros(1), np.zeros(1, int), r"xyxy: expected shape \(n, 4\), got \(4,\)"),
        (np.zeros((2, 4)), np.zeros(3), np.zeros(2, int), r"confidence: expected shape \(2,\), got \(3,\)"),
        (np.zeros((2, 4)), np.zeros((2, 1)), np.zeros(2, int), r"confidence: expected shape \(2,\), got \(2, 1\)"),
        (np.zeros((2, 4)), np.zeros(2), np.zeros(1, int), r"class_id: expected shape \(2,\), got \(1,\)"),
    ],
)
def test_inconsistent_shapes_are_refused(xyxy, confidence, class_id, message) -> None:
    with pytest.raises(ValueError, match=message):
        Detections(xyxy, confidence, class_id, NAMES, (10, 10))


def test_empty_has_typed_zero_length_arrays() -> None:
    empty = Detections.empty(NAMES, (64, 32))
    assert len(empty) == 0
    assert (empty.xyxy.shape, empty.xyxy.dtype) == ((0, 4), np.float32)
    assert (empty.confidence.shape, empty.class_id.dtype) == ((0,), np.int64)
    assert detections_slot(empty, "ab", "m")["detections"] == []


def test_len_and_labels() -> None:
    detections = two_detections()
    assert len(detections) == 2
    assert detections.labels() == ["person", "cat"]


def test_wire_form_gives_pixel_and_normalised_boxes_rounded() -> None:
    result = detections_slot(two_detections(), "f00d", "m")
    assert result["image"] == {"width": 640, "height": 480, "sha256": "f00d"}
    person, cat = result["detections"]
    assert person == {
        "class_id": 0,
        "class_name": "person",
        "score": 0.9123,
        "box": [10.0, 20.3, 330.0, 480.0],
        "box_normalized": [0.01569, 0.04221, 0.51562, 1.0],
    }
    assert cat["box"] == [0.0, 0.0, 213.3, 160.0]
    assert cat["box_normalized"] == [0.0, 0.0, 0.33333, 0.33333]
    assert (cat["class_name"], cat["score"]) == ("cat", 0.5)


def test_wire_form_is_plain_json_with_normalised_boxes_in_0_1() -> None:
    result = detections_slot(two_detections(), "f00d", "m")
    assert json.loads(json.dumps(result)) == result  # only built-in types, no numpy scalars
    for detection in result["detections"]:
        assert type(detection["class_id"]) is int and type(detection["score"]) is float
        assert all(0.0 <= value <= 1.0 for value in detection["box_normalized"])
