"""Boxes with their best class and score -> the final detections: min size, class-aware NMS, top-k."""

from __future__ import annotations

import cv2
import numpy as np

from .params import PredictParams


def min_size_mask(xyxy: np.ndarray, image_size: tuple[int, int], min_width: float, min_height: float) -> np.ndarray:
    """True for boxes at least min_width x image width wide and min_height x image height tall."""
    width, height = image_size
    return ((xyxy[:, 2] - xyxy[:, 0]) >= min_width * width) & ((xyxy[:, 3] - xyxy[:, 1]) >= min_height * height)


def class_aware_nms(xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by per-class non-maximum suppression, best score first."""
    if len(xyxy) == 0:
        return np.zeros(0, np.int64)
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    # Score filtering is Candidates.best_per_box's job; OpenCV keeps only scores strictly above this, so go below 0.
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
