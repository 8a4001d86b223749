"""CenterNet (MobileNetV3 port): class heatmap [1, H, W, C] and side distances [1, H, W, 4] at stride 4."""

from collections.abc import Sequence

import numpy as np

from .grids import grid_points


def decode_centernet(
    outputs: list[np.ndarray], output_names: list[str], input_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmap peaks + (left, top, right, bottom) distances -> xyxy boxes in input pixels and class scores."""
    heatmap, sides = _find_heads(outputs, output_names)
    rows, cols = heatmap.shape[:2]
    stride = input_hw[0] // rows
    if rows * stride != input_hw[0] or cols * stride != input_hw[1]:
        raise ValueError(f"heatmap {rows}x{cols} does not tile the {input_hw[0]}x{input_hw[1]} input")
    grid, _ = grid_points(tuple(input_hw), (stride,))
    # Measured (flip test) and as the graph's own decode does: distances are from gx * stride, no 0.5.
    centres = grid * stride
    sides = sides.reshape(-1, 4)  # already in input pixels (the graph multiplies by 16)
    boxes = np.concatenate([centres - sides[:, 0:2], centres + sides[:, 2:4]], axis=1)
    # CenterNet's own NMS: a cell counts for a class only where it is the 3x3 local maximum.
    class_scores = np.where(heatmap == _max_pool_3x3(heatmap), heatmap, 0).reshape(rows * cols, -1)
    return boxes.astype(np.float32, copy=False), class_scores.astype(np.float32, copy=False)


def _find_heads(outputs: list[np.ndarray], output_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pick the heatmap (H, W, C) and side distances (H, W, 4) among the outputs, NHWC or NCHW."""
    heads = centernet_heads([o.shape for o in outputs])
    if heads is None:
        shapes = [list(o.shape) for o in outputs]
        raise ValueError(
            f"CenterNet needs a heatmap and a 4-channel size map of one grid; got {shapes} ({output_names})"
        )
    heatmap_index, sides_index, channels_last = heads
    views = [outputs[i][0] if channels_last else outputs[i][0].transpose(1, 2, 0) for i in (heatmap_index, sides_index)]
    return views[0], views[1]


def centernet_heads(shapes: Sequence[tuple[int, ...]]) -> tuple[int, int, bool] | None:
    """(heatmap index, size-map index, channels last) among output shapes, or None if they do not fit.

    Only 4-D batch-of-one outputs count (the graph's own [1, 100, 6] detections are skipped).
    """
    maps = [(i, tuple(s)) for i, s in enumerate(shapes) if len(s) == 4 and s[0] == 1]
    for channels_last in (True, False):
        grids = {i: ((s[1], s[2]), s[3]) if channels_last else ((s[2], s[3]), s[1]) for i, s in maps}
        sides = [i for i, (_, channels) in grids.items() if channels == 4]
        heatmaps = [i for i, (_, channels) in grids.items() if channels > 4]
        if len(sides) == 1 and len(heatmaps) == 1 and grids[sides[0]][0] == grids[heatmaps[0]][0]:
            return heatmaps[0], sides[0], channels_last
    return None


def _max_pool_3x3(heatmap: np.ndarray) -> np.ndarray:
    """(H, W, C) -> the maximum over each cell's 3x3 neighbourhood (edges padded with -inf)."""
    rows, cols = heatmap.shape[:2]
    padded = np.pad(heatmap, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    pooled = padded[0:rows, 0:cols].copy()
    for dy in range(3):
        for dx in range(3):
            np.maximum(pooled, padded[dy : dy + rows, dx : dx + cols], out=pooled)
    return pooled
