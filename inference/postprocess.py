"""Raw boxes and class scores -> the final detections: threshold, min size, class-aware NMS, top-k."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .params import PredictParams


def best_class(
    class_scores: np.ndarray, score_th: float, allowed_ids: Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's best class (among `allowed_ids` if given) at or above `score_th`.

    Returns (row indices, scores, class ids) of the rows that pass.
    """
    if allowed_ids is not None:
        columns = np.asarray(allowed_ids, dtype=np.int64)
        rows, scores, local_ids = best_class(class_scores[:, columns], score_th)
        return rows, scores, columns[local_ids]
    scores = class_scores.max(axis=1, initial=0.0) if class_scores.shape[1] else np.zeros(len(class_scores))
    rows = np.flatnonzero(scores >= score_th)
    class_ids = class_scores[rows].argmax(axis=1) if len(rows) else np.zeros(0, np.int64)
    return rows, scores[rows].astype(np.float32), class_ids.astype(np.int64)


def min_size_mask(xyxy: np.ndarray, image_size: tuple[int, int], min_width: float, min_height: float) -> np.ndarray:
    """True for boxes at least min_width x image width wide and min_height x image height tall."""
    width, height = image_size
    return ((xyxy[:, 2] - xyxy[:, 0]) >= min_width * width) & ((xyxy[:, 3] - xyxy[:, 1]) >= min_height * height)


def class_aware_nms(xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by per-class non-maximum suppression, best score first."""
    if len(xyxy) == 0:
        return np.zeros(0, np.int64)
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    # Score filtering is best_class's job; OpenCV keeps only scores strictly above this, so go below 0.
    keep = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), class_ids.tolist(), -1.0, iou_threshold)
    keep = np.asarray(keep, dtype=np.int64).reshape(-1)
    return keep[np.argsort(-scores[keep], kind="stable")]


def select_detections(
    image_boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    image_size: tuple[int, int],
    params: PredictParams,
) -> np.ndarray:
    """Indices of the detections to report, best first: min size, then NMS, then the best max_results."""
    candidates = np.flatnonzero(min_size_mask(image_boxes, image_size, params.min_width, params.min_height))
    kept = class_aware_nms(image_boxes[candidates], scores[candidates], class_ids[candidates], params.nms_iou)
    return candidates[kept][: params.max_results]
