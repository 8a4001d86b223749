"""YOLOX (Megvii) raw head output [1, N, 5 + C], one row per grid cell over strides 8/16/32."""

import numpy as np

from ..candidates import CANDIDATE_SCORE_FLOOR
from .grids import cxcywh_to_xyxy, grid_points


def decode_yolox(
    outputs: list[np.ndarray], output_names: list[str], input_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (tx, ty, tw, th, objectness, class probs...) -> xyxy boxes in input pixels and class scores."""
    rows = outputs[0][0]
    grid, stride = grid_points(input_hw)
    # A class score is at most its row's objectness: rows below the floor can never be candidates, so skip
    # them before the (rows x classes) product and the box arithmetic.
    keep = np.flatnonzero(rows[:, 4] >= CANDIDATE_SCORE_FLOOR)
    rows, grid, stride = rows[keep], grid[keep], stride[keep]
    centres = (rows[:, 0:2] + grid) * stride[:, None]
    sizes = np.exp(rows[:, 2:4]) * stride[:, None]
    boxes = cxcywh_to_xyxy(np.concatenate([centres, sizes], axis=1))
    # Objectness and class probabilities are already sigmoid-ed in the exported graph.
    class_scores = rows[:, 5:] * rows[:, 4:5]
    return boxes, class_scores
