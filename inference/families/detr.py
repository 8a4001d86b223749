"""DETR-style detectors (RT-DETR, D-FINE, DEIM, DEIMv2): one box per query, no grid, no NMS needed.

Two output layouts:
- post-processed: `labels` [1, K] int, `boxes` [1, K, 4] xyxy, `scores` [1, K]; the optional
  `orig_target_sizes` input [1, 2] (width, height) is what the boxes are scaled to;
- raw: `logits` [1, K, C] (sigmoid not applied) and `pred_boxes` [1, K, 4] cxcywh in 0..1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .grids import cxcywh_to_xyxy

COCO_CLASSES = 80  # the class count of a post-processed model whose names nobody gave
_SIZE_INPUT_TYPES = ("tensor(int64)", "tensor(int32)")


def decode_detr(
    outputs: list[np.ndarray], output_names: list[str], input_hw: tuple[int, int], num_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Either layout -> xyxy boxes in input pixels and (K, C) class scores, one row per query.

    Post-processed outputs name one class per query (a query may come twice with two classes): its score
    goes in that class's column. `num_classes` (the given class names) sizes the columns; labels outside it
    cannot be named and are dropped.
    """
    layout = detr_layout([o.shape for o in outputs], output_names)
    if layout is None:
        shapes = [list(o.shape) for o in outputs]
        raise ValueError(
            f"DETR needs labels/boxes/scores [1, K], [1, K, 4], [1, K] or logits/boxes [1, K, C], [1, K, 4]; got {shapes}"
        )
    height, width = input_hw
    if len(layout) == 2:
        logits_index, boxes_index = layout
        logits = outputs[logits_index][0].astype(np.float32, copy=False)
        boxes = cxcywh_to_xyxy(outputs[boxes_index][0] * np.array([width, height, width, height], np.float32))
        return boxes, 1 / (1 + np.exp(-logits))  # focal-loss heads (RT-DETR, D-FINE, DEIM): one sigmoid per class
    labels_index, boxes_index, scores_index = layout
    if outputs[scores_index].dtype.kind in "iu" and outputs[labels_index].dtype.kind == "f":
        labels_index, scores_index = scores_index, labels_index  # unnamed outputs: the integer one is labels
    labels = outputs[labels_index][0].astype(np.int64)
    boxes = outputs[boxes_index][0].astype(np.float32, copy=False)
    scores = outputs[scores_index][0].astype(np.float32, copy=False)
    if boxes.size and np.abs(boxes).max() <= 1.0:
        # Fed the input size, boxes are in input pixels; some exports without a size input give 0..1 instead.
        boxes = boxes * np.array([width, height, width, height], np.float32)
    columns = num_classes or COCO_CLASSES
    known = (labels >= 0) & (labels < columns)
    class_scores = np.zeros((len(labels), columns), np.float32)
    class_scores[np.flatnonzero(known), labels[known]] = scores[known]
    return boxes, class_scores


def detr_layout(shapes: Sequence[tuple[int, ...]], names: Sequence[str]) -> tuple[int, ...] | None:
    """(labels, boxes, scores) or (logits, boxes) output indices, or None if the outputs are not DETR's."""
    shapes = [tuple(s) for s in shapes]
    boxes = [i for i, s in enumerate(shapes) if len(s) == 3 and s[0] == 1 and s[2] == 4]
    if len(boxes) != 1:
        return None
    queries = shapes[boxes[0]][1]
    others = [i for i in range(len(shapes)) if i != boxes[0]]
    if len(shapes) == 3 and all(shapes[i] == (1, queries) for i in others):
        # Names tell labels from scores (every export keeps them); else the order labels, boxes, scores.
        labels = [i for i in others if "label" in names[i].lower()] or others[:1]
        scores = [i for i in others if i not in labels]
        return labels[0], boxes[0], scores[0]
    if len(shapes) == 2 and len(shapes[others[0]]) == 3 and shapes[others[0]][:2] == (1, queries):
        return others[0], boxes[0]
    return None


def target_size_feeds(
    inputs: Sequence[tuple[str, Sequence[int | str], str]], input_hw: tuple[int, int]
) -> dict[str, np.ndarray]:
    """Constant feeds for the inputs besides the image: a DETR `orig_target_sizes` [N, 2] gets the model-input
    (width, height), so boxes come out in input pixels like every family's and map back like theirs.

    `inputs` are (name, shape, type) of the non-image inputs; ValueError for any other kind of input.
    """
    feeds = {}
    for name, shape, type_name in inputs:
        if len(shape) != 2 or shape[1] != 2 or type_name not in _SIZE_INPUT_TYPES:
            raise ValueError(
                f"input {name!r} {list(shape)} {type_name} is neither the image nor a [N, 2] integer target size"
            )
        dtype = np.int64 if type_name == "tensor(int64)" else np.int32
        feeds[name] = np.array([[input_hw[1], input_hw[0]]], dtype)
    return feeds
