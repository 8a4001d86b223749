"""NanoDet (legacy GFL head): per stride, class scores [1, N, C] and box distributions [1, N, 4 * bins]."""

from collections import Counter
from collections.abc import Sequence

import numpy as np

from .grids import grid_cell_count, grid_points

_CLASS_HINTS = ("cls", "score", "conf")
_BOX_HINTS = ("dis", "reg", "box", "bbox")
_COCO_CLASSES = 80


def decode_nanodet(
    outputs: list[np.ndarray], output_names: list[str], input_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-stride (scores, distributions) pairs -> xyxy boxes in input pixels and class scores."""
    all_boxes, all_scores = [], []
    for stride, scores, distributions in _pair_levels(outputs, output_names, input_hw):
        grid, _ = grid_points(tuple(input_hw), (stride,))
        # Measured (flip test, IoU on labelled photos): distances are from the cell's centre.
        centres = (grid + 0.5) * stride
        sides = _expected_distance(distributions) * stride  # (N, 4): left, top, right, bottom
        all_boxes.append(np.concatenate([centres - sides[:, 0:2], centres + sides[:, 2:4]], axis=1))
        all_scores.append(scores)
    boxes = np.concatenate(all_boxes).astype(np.float32, copy=False)
    class_scores = np.concatenate(all_scores).astype(np.float32, copy=False)
    if class_scores.size and (class_scores.min() < 0 or class_scores.max() > 1):
        class_scores = 1 / (1 + np.exp(-class_scores))  # some exports leave logits
    return boxes, class_scores


def _pair_levels(
    outputs: list[np.ndarray], output_names: list[str], input_hw: tuple[int, int]
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Group outputs by cell count into (stride, scores (N, C), distributions (N, 4 * bins)), smallest stride first."""
    by_cells: dict[int, list[tuple[str, np.ndarray]]] = {}
    for name, output in zip(output_names, outputs, strict=True):
        if output.ndim != 3 or output.shape[0] != 1:
            raise ValueError(f"NanoDet outputs must be [1, N, C], got {list(output.shape)} for {name!r}")
        by_cells.setdefault(output.shape[1], []).append((name.lower(), output[0]))
    levels = []
    for cells, pair in by_cells.items():
        if len(pair) != 2:
            raise ValueError(f"expected one score and one box output with {cells} cells, got {len(pair)}")
        scores, distributions = _split_pair(pair)
        levels.append((_stride_for(cells, input_hw), scores, distributions))
    return sorted(levels, key=lambda level: level[0])


def fits_nanodet(shapes: Sequence[tuple[int, ...]], input_hw: tuple[int, int]) -> bool:
    """Whether the outputs are [1, N, C] pairs, one pair per stride's cell count (the head's layout)."""
    if len(shapes) < 2 or any(len(s) != 3 or s[0] != 1 for s in shapes):
        return False
    counts = Counter(s[1] for s in shapes)
    if any(n != 2 for n in counts.values()):
        return False
    try:
        return all(_stride_for(cells, input_hw) for cells in counts)
    except ValueError:
        return False


def _split_pair(pair: list[tuple[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Tell the class-score output from the box-distribution output: by name, then by width."""
    (name_a, a), (name_b, b) = pair
    if _named(name_a, _CLASS_HINTS) or _named(name_b, _BOX_HINTS):
        return a, b
    if _named(name_b, _CLASS_HINTS) or _named(name_a, _BOX_HINTS):
        return b, a
    # Converted graphs keep no telling names ("Identity_3:0"): COCO has 80 classes, sides x bins
    # is a multiple of 4.
    if (a.shape[1] == _COCO_CLASSES) != (b.shape[1] == _COCO_CLASSES):
        return (a, b) if a.shape[1] == _COCO_CLASSES else (b, a)
    if (a.shape[1] % 4 == 0) != (b.shape[1] % 4 == 0):
        return (b, a) if a.shape[1] % 4 == 0 else (a, b)
    raise ValueError(f"cannot tell NanoDet scores from boxes among widths {a.shape[1]} and {b.shape[1]}")


def _named(name: str, hints: tuple[str, ...]) -> bool:
    """Whether an output name contains one of the hints (upstream exports: cls_pred_*, dis_pred_*)."""
    return any(hint in name for hint in hints)


def _stride_for(cells: int, input_hw: tuple[int, int]) -> int:
    """The power-of-two stride whose grid over input_hw has this many cells."""
    for stride in (4, 8, 16, 32, 64, 128):
        if grid_cell_count(tuple(input_hw), (stride,)) == cells:
            return stride
    raise ValueError(f"no stride gives {cells} cells on a {input_hw[0]}x{input_hw[1]} input")


def _expected_distance(distributions: np.ndarray) -> np.ndarray:
    """(N, 4 * bins) logits -> (N, 4) expected distance in stride units (softmax over each side's bins)."""
    logits = distributions.reshape(len(distributions), 4, -1)
    weights = np.exp(logits - logits.max(axis=2, keepdims=True))  # shift for numerical safety
    weights /= weights.sum(axis=2, keepdims=True)
    return weights @ np.arange(logits.shape[2], dtype=np.float32)
