"""Anchor-free grid helpers shared by the YOLOX and NanoDet decoders."""

from functools import cache

import numpy as np

DEFAULT_STRIDES = (8, 16, 32)


@cache
def grid_points(input_hw: tuple[int, int], strides: tuple[int, ...] = DEFAULT_STRIDES) -> tuple[np.ndarray, np.ndarray]:
    """Cell indices (N, 2) as (gx, gy) and each cell's stride (N,), stride by stride, row-major."""
    cells, cell_strides = [], []
    for stride in strides:
        rows, cols = -(-input_hw[0] // stride), -(-input_hw[1] // stride)
        gy, gx = np.mgrid[0:rows, 0:cols]
        cells.append(np.stack([gx.ravel(), gy.ravel()], axis=1))
        cell_strides.append(np.full(rows * cols, stride))
    grid = np.concatenate(cells).astype(np.float32)
    stride_per_cell = np.concatenate(cell_strides).astype(np.float32)
    grid.flags.writeable = stride_per_cell.flags.writeable = False  # cached: shared by all callers
    return grid, stride_per_cell


def grid_cell_count(input_hw: tuple[int, int], strides: tuple[int, ...] = DEFAULT_STRIDES) -> int:
    """Number of cells over all strides (the row count of an anchor-free head's output)."""
    return len(grid_points(input_hw, strides)[1])


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(n, 4) centre-size boxes -> (n, 4) float32 corner boxes."""
    half = boxes[:, 2:4] / 2
    return np.concatenate([boxes[:, 0:2] - half, boxes[:, 0:2] + half], axis=1).astype(np.float32, copy=False)
