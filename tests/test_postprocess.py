"""Post-processing on plain arrays: class-aware NMS, minimum size, max results, order."""

from __future__ import annotations

import numpy as np
import pytest

from inference import PredictParams
from inference.postprocess import class_aware_nms, min_size_mask, select_detections

BOX = [0, 0, 10, 10]
OVERLAPPING = [0, 5, 10, 15]  # IoU 1/3 with BOX
APART = [20, 20, 30, 30]


def nms(boxes, scores, class_ids, iou: float) -> list[int]:
    """class_aware_nms on lists."""
    kept = class_aware_nms(np.array(boxes, np.float32), np.array(scores, np.float32), np.array(class_ids), iou)
    return kept.tolist()


def test_nms_suppresses_same_class_overlap() -> None:
    assert nms([OVERLAPPING, BOX], [0.7, 0.9], [0, 0], 0.3) == [1]


def test_nms_keeps_overlap_of_different_classes() -> None:
    assert nms([BOX, OVERLAPPING], [0.9, 0.7], [0, 1], 0.3) == [0, 1]


def test_nms_threshold_is_compared_with_the_iou() -> None:
    assert nms([BOX, OVERLAPPING], [0.9, 0.7], [0, 0], 0.34) == [0, 1]  # IoU 0.333 is not above 0.34


def test_nms_iou_zero_suppresses_any_overlap_but_not_boxes_apart() -> None:
    touching = [10, 0, 20, 10]  # shares an edge with BOX, no area
    assert nms([BOX, [9, 9, 19, 19], APART, touching], [0.9, 0.8, 0.7, 0.6], [0, 0, 0, 0], 0.0) == [0, 2, 3]


def test_nms_iou_one_keeps_even_identical_boxes() -> None:
    assert nms([BOX, BOX], [0.9, 0.8], [0, 0], 1.0) == [0, 1]


def test_nms_returns_best_first_and_leaves_scores_to_best_class() -> None:
    assert nms([BOX, APART, [40, 0, 50, 10]], [0.2, 0.0, 0.9], [3, 1, 3], 0.5) == [2, 0, 1]


def test_nms_of_nothing_is_empty() -> None:
    kept = class_aware_nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), 0.5)
    assert kept.shape == (0,) and kept.dtype == np.int64


def test_min_size_is_a_fraction_of_each_side() -> None:
    boxes = np.array([[0, 0, 20, 10], [0, 0, 19.9, 10], [0, 0, 20, 9.9], [5, 5, 200, 100]], np.float32)
    assert min_size_mask(boxes, (200, 100), 0.1, 0.1).tolist() == [True, False, False, True]
    assert min_size_mask(boxes, (200, 100), 0.0, 0.0).all()


def select(params: PredictParams, boxes, scores, class_ids) -> list[int]:
    """select_detections on a 100x100 image."""
    boxes, scores, class_ids = np.array(boxes, np.float32), np.array(scores, np.float32), np.array(class_ids)
    chosen = select_detections(boxes, scores, class_ids, (100, 100), params)
    return chosen.tolist()


FIVE_APART = [[20 * i, 0, 20 * i + 15, 15] for i in range(5)]
FIVE_SCORES = [0.5, 0.9, 0.3, 0.7, 0.8]


def test_select_orders_best_first() -> None:
    assert select(PredictParams(), FIVE_APART, FIVE_SCORES, [0] * 5) == [1, 4, 3, 0, 2]


@pytest.mark.parametrize(("max_results", "expected"), [(0, []), (1, [1]), (3, [1, 4, 3]), (1000, [1, 4, 3, 0, 2])])
def test_select_keeps_the_best_max_results(max_results, expected) -> None:
    assert select(PredictParams(max_results=max_results), FIVE_APART, FIVE_SCORES, [0] * 5) == expected


def test_select_drops_small_boxes_before_nms() -> None:
    # The tiny best box must not suppress the large one it overlaps.
    boxes = [[0, 0, 2, 50], [0, 0, 50, 50]]
    assert select(PredictParams(min_width=0.1, nms_iou=0.01), boxes, [0.9, 0.5], [0, 0]) == [1]
