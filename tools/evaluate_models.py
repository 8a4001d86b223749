"""Recall and precision at IoU 0.5 on the labelled photos, plus latency, for one or more ONNX detectors.

    python -m tools.evaluate_models inference/models/yolox_nano.onnx [other.onnx:nanodet ...]

Matching: greedy, best score first, same class, IoU >= 0.5. Objects marked "difficult" in
tests/data/ground_truth.json are neither required (no miss) nor counted against (a detection on one is
ignored).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference import Detector, PredictParams

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


@dataclass(frozen=True)
class Score:
    """Counts over the labelled set."""

    true_positives: int
    false_positives: int
    misses: int
    median_ms: float

    @property
    def recall(self) -> float:
        return self.true_positives / max(1, self.true_positives + self.misses)

    @property
    def precision(self) -> float:
        return self.true_positives / max(1, self.true_positives + self.false_positives)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box with each of (n, 4) boxes."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def match_image(
    labels: list[str], boxes: np.ndarray, objects: list[dict], threshold: float = 0.5
) -> tuple[int, int, int]:
    """(true positives, false positives, misses) for one image's detections, best first."""
    gt_boxes = np.array([o["box"] for o in objects], dtype=np.float32).reshape(-1, 4)
    used = np.zeros(len(objects), bool)
    tp = fp = 0
    for label, box in zip(labels, boxes):
        candidates = [i for i, o in enumerate(objects) if o["label"] == label and not used[i]]
        overlaps = iou(box, gt_boxes[candidates]) if candidates else np.zeros(0)
        if len(overlaps) and overlaps.max() >= threshold:
            best = candidates[int(overlaps.argmax())]
            used[best] = True
            tp += 0 if objects[best].get("difficult") else 1
        else:
            fp += 1
    misses = sum(1 for i, o in enumerate(objects) if not used[i] and not o.get("difficult"))
    return tp, fp, misses


def evaluate(detector: Detector, params: PredictParams | None = None, ground_truth: dict | None = None) -> Score:
    """Score a detector on every labelled photo."""
    ground_truth = ground_truth or json.loads((DATA / "ground_truth.json").read_text())
    tp = fp = misses = 0
    latencies = []
    for image in ground_truth["images"]:
        data = (DATA / image["file"]).read_bytes()
        started = time.perf_counter()
        detections = detector.predict_bytes(data, params)
        latencies.append((time.perf_counter() - started) * 1000)
        counts = match_image(detections.labels(), detections.xyxy, image["objects"])
        tp, fp, misses = tp + counts[0], fp + counts[1], misses + counts[2]
    return Score(tp, fp, misses, statistics.median(latencies))


def main() -> None:
    """Print one row per model."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="model.onnx, optionally model.onnx:family")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--score-th", type=float, default=0.3)
    args = parser.parse_args()
    print(f"{'model':32} {'family':9} {'recall':>7} {'precision':>9} {'TP':>3} {'FP':>3} {'miss':>4} {'median ms':>9}")
    for spec in args.models:
        path, _, family = spec.partition(":")
        detector = Detector(path, family=family or None, intra_op_threads=args.threads)
        evaluate(detector)  # warm-up pass: first runs are slower
        score = evaluate(detector, PredictParams(score_th=args.score_th))
        print(
            f"{Path(path).name:32} {detector.info.family:9} {score.recall:7.3f} {score.precision:9.3f} "
            f"{score.true_positives:3} {score.false_positives:3} {score.misses:4} {score.median_ms:9.1f}"
        )


if __name__ == "__main__":
    main()
