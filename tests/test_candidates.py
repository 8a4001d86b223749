"""Candidates: the cached half of a prediction, re-filtered exactly, and its byte form."""

from __future__ import annotations

import numpy as np
import pytest

from inference.candidates import CANDIDATE_SCORE_FLOOR, Candidates

SCORES = np.array(
    [
        [0.10, 0.80, 0.05],  # best: class 1
        [0.50, 0.20, 0.45],  # best: class 0, runner-up class 2
        [0.0002, 0.0003, 0.0001],  # below the floor: never a candidate
        [0.30, 0.30, 0.60],  # best: class 2
    ],
    np.float32,
)
BOXES = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [2, 2, 12, 12], [3, 3, 13, 13]], np.float32)


@pytest.fixture()
def candidates() -> Candidates:
    return Candidates.from_class_scores(BOXES, SCORES, (100, 50))


def test_entries_below_the_floor_are_dropped(candidates) -> None:
    assert candidates.xyxy.tolist() == BOXES[[0, 1, 3]].tolist()
    assert (candidates.score >= CANDIDATE_SCORE_FLOOR).all()
    assert len(candidates.score) == 9


def test_best_per_box_keeps_boxes_at_or_above_the_threshold(candidates) -> None:
    boxes, scores, class_ids = candidates.best_per_box(0.5)
    assert boxes.tolist() == BOXES[[0, 1, 3]].tolist()
    np.testing.assert_allclose(scores, [0.8, 0.5, 0.6])
    assert class_ids.tolist() == [1, 0, 2]
    assert scores.dtype == np.float32 and class_ids.dtype == np.int64


def test_best_per_box_among_allowed_ids_reports_the_original_ids(candidates) -> None:
    boxes, scores, class_ids = candidates.best_per_box(0.4, allowed_ids=[2])
    assert boxes.tolist() == BOXES[[1, 3]].tolist()
    np.testing.assert_allclose(scores, [0.45, 0.6])
    assert class_ids.tolist() == [2, 2]


def test_best_allowed_not_best_overall(candidates) -> None:
    _, _, class_ids = candidates.best_per_box(0.0, allowed_ids=[0, 2])
    assert class_ids.tolist() == [0, 0, 2]  # box 0's best (class 1) is not allowed


def test_ties_go_to_the_lower_class_id() -> None:
    tied = Candidates.from_class_scores(BOXES[:1], np.array([[0.3, 0.7, 0.7]], np.float32), (20, 20))
    assert tied.best_per_box(0.5)[2].tolist() == [1]


def test_bytes_round_trip_is_exact(candidates) -> None:
    back = Candidates.from_bytes(candidates.to_bytes())
    assert back.image_size == (100, 50)
    for name in ("xyxy", "box_index", "class_id", "score"):
        np.testing.assert_array_equal(getattr(back, name), getattr(candidates, name))


@pytest.mark.parametrize("data", [b"", b"CND1", b"XXXX" + bytes(16), lambda c: c.to_bytes()[:-1]])
def test_other_bytes_are_refused(candidates, data) -> None:
    with pytest.raises(ValueError, match="not a candidates record"):
        Candidates.from_bytes(data(candidates) if callable(data) else data)


def test_empty_candidates_round_trip() -> None:
    empty = Candidates.from_class_scores(np.zeros((0, 4), np.float32), np.zeros((0, 80), np.float32), (5, 5))
    assert len(Candidates.from_bytes(empty.to_bytes()).best_per_box(0.0)[0]) == 0


@pytest.mark.parametrize("num_rows", [0, 3])
def test_best_of_nothing_is_empty(num_rows) -> None:
    nothing = Candidates.from_class_scores(
        np.zeros((num_rows, 4), np.float32), np.zeros((num_rows, 80), np.float32), (9, 9)
    )
    boxes, scores, class_ids = nothing.best_per_box(0.3)
    assert len(boxes) == len(scores) == len(class_ids) == 0


@pytest.mark.parametrize("seed", range(40))
def test_entries_are_every_score_at_or_above_the_floor_in_row_major_order(seed) -> None:
    """from_class_scores against a plain loop over the dense scores, on any shape, dtype and memory order."""
    rng = np.random.default_rng(seed)
    rows, columns = int(rng.integers(0, 30)), int(rng.integers(1, 7))
    dtype = (np.float32, np.float64, np.float16)[seed % 3]
    scores = (rng.random((rows, columns)) ** 4 * (rng.random((rows, columns)) > 0.5)).astype(dtype)
    if seed % 2:
        scores = np.asfortranarray(scores)
    boxes = rng.random((rows, 4)).astype(np.float32)
    found = Candidates.from_class_scores(boxes, scores, (10, 10))

    expected = [
        (r, c, scores[r, c]) for r in range(rows) for c in range(columns) if scores[r, c] >= CANDIDATE_SCORE_FLOOR
    ]
    kept_rows = sorted({r for r, _, _ in expected})
    assert found.xyxy.tolist() == boxes[kept_rows].tolist()
    assert [kept_rows[i] for i in found.box_index] == [r for r, _, _ in expected]
    assert found.class_id.tolist() == [c for _, c, _ in expected]
    assert found.score.tolist() == [float(np.float32(s)) for _, _, s in expected]
    assert (found.box_index.dtype, found.class_id.dtype, found.score.dtype) == (np.int32, np.int32, np.float32)
