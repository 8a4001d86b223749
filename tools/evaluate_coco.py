"""COCO AP, AP50, AP75, AR100 (pycocotools) and median ms per image of detectors on a COCO-format image set.

    .venv/bin/python -m tools.evaluate_coco [MODEL ...] [--images DIR --annotations FILE] [--threads 1]
        [--resize letterbox|stretch] [--rounding floor|round] [--reference yolox_nano@0.3]

MODEL is an embedded model's name (`deimv2_femto`, `yolox_nano`; default: every embedded model) or a path
to an ONNX file, optionally `path:family`. Default data: the 47-image dev set in tests/data/coco-dev.

AP is measured as COCO does (score_th 0.01, nms_iou 0.65, no minimum size, up to 100 detections per image),
each image through `Detector.predict_bytes`, so the service's own decoding, pre-processing and NMS are
measured. Model classes are matched to the annotation categories by name (COCO or darknet spelling).
`--reference MODEL@TH` also prints, for each model, the precision and recall (IoU 0.5) at the service's
default thresholds and the lowest score_th whose precision reaches the reference model's at TH.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

ROOT = Path(__file__).resolve().parent.parent
from inference import Detector, PredictParams
from inference.catalog import EMBEDDED_MODELS, embedded_model
from inference.labels import find_class

COCO_DEV = ROOT / "tests" / "data" / "coco-dev"
# COCO's own protocol: every detection down to a low score, up to 100 per image, no size filter.
AP_PARAMS = PredictParams(score_th=0.01, nms_iou=0.65, min_width=0.0, min_height=0.0, max_results=100)
SWEEP = np.round(np.arange(0.05, 0.951, 0.01), 2)


@dataclass(frozen=True)
class CocoScore:
    """COCO summary figures (percent) and timing of one model on one image set."""

    ap: float
    ap50: float
    ap75: float
    ar100: float
    median_ms: float
    images: int


def load_detector(spec: str, threads: int) -> Detector:
    """An embedded model by name, or `path[:family]`."""
    if spec in {model.name for model in EMBEDDED_MODELS}:
        return embedded_model(spec).load(intra_op_threads=threads)
    path, _, family = spec.partition(":")
    return Detector(path, family=family or None, intra_op_threads=threads)


def detect_all(detector: Detector, coco: COCO, images: Path, params: PredictParams) -> tuple[list[dict], list[float]]:
    """COCO result records for every annotated image, and the milliseconds each took end to end."""
    categories = {c["name"]: c["id"] for c in coco.loadCats(coco.getCatIds())}
    category_names = list(categories)
    class_to_category = {}
    for class_id, name in enumerate(detector.info.class_names):
        found = find_class(name, category_names)
        if found is not None:
            class_to_category[class_id] = categories[category_names[found]]
    if not class_to_category:
        raise SystemExit(f"none of the model's classes {detector.info.class_names[:5]}... is an annotation category")
    records, latencies = [], []
    for image_id in sorted(coco.getImgIds()):
        data = (images / coco.loadImgs(image_id)[0]["file_name"]).read_bytes()
        started = time.perf_counter()
        detections = detector.predict_bytes(data, params)
        latencies.append((time.perf_counter() - started) * 1000)
        for (x1, y1, x2, y2), score, class_id in zip(
            detections.xyxy.tolist(), detections.confidence.tolist(), detections.class_id
        ):
            if int(class_id) in class_to_category:
                records.append(
                    {
                        "image_id": image_id,
                        "category_id": class_to_category[int(class_id)],
                        "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "score": score,
                    }
                )
    return records, latencies


def coco_eval(coco: COCO, records: list[dict], iou_thresholds: list[float] | None = None) -> COCOeval:
    """pycocotools' bbox evaluation, run quietly."""
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(coco, coco.loadRes(records) if records else COCO(), "bbox")
        if iou_thresholds is not None:
            evaluation.params.iouThrs = np.array(iou_thresholds)
        evaluation.evaluate()
        evaluation.accumulate()
        if iou_thresholds is None:
            evaluation.summarize()
    return evaluation


def evaluate(
    detector: Detector,
    annotations: Path = COCO_DEV / "instances_val2017_subset.json",
    images: Path = COCO_DEV / "images",
    *,
    warm_up: bool = True,
) -> CocoScore:
    """AP, AP50, AP75, AR100 (percent) and the median end-to-end ms per image (after a warm-up pass)."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(annotations))
    if warm_up:
        detect_all(detector, coco, images, AP_PARAMS)  # first runs are slower
    records, latencies = detect_all(detector, coco, images, AP_PARAMS)
    stats = coco_eval(coco, records).stats
    return CocoScore(
        *(round(float(v) * 100, 1) for v in (stats[0], stats[1], stats[2], stats[8])),
        round(statistics.median(latencies), 2),
        len(latencies),
    )


def interleaved_ms(detectors: dict[str, Detector], images: list[bytes], rounds: int) -> dict[str, float]:
    """Median end-to-end ms per image of each model, the models taking turns image by image (fair under load)."""
    samples: dict[str, list[float]] = {name: [] for name in detectors}
    for _ in range(rounds):
        for data in images:
            for name, detector in detectors.items():
                started = time.perf_counter()
                detector.predict_bytes(data, AP_PARAMS)
                samples[name].append((time.perf_counter() - started) * 1000)
    return {name: round(statistics.median(values), 2) for name, values in samples.items()}


def precision_recall(coco: COCO, records: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at IoU 0.5 of the records scoring at least each SWEEP threshold (crowds ignored)."""
    evaluation = coco_eval(coco, records, [0.5])
    area_all = evaluation.params.areaRng[0]
    scores, matched, ignored, truths = [], [], [], 0
    for result in evaluation.evalImgs:
        if result is None or result["aRng"] != area_all:
            continue
        scores += result["dtScores"]
        matched += (result["dtMatches"][0] > 0).tolist()
        ignored += result["dtIgnore"][0].astype(bool).tolist()
        truths += int((~np.asarray(result["gtIgnore"], bool)).sum())
    scores, matched, counted = np.array(scores), np.array(matched, bool), ~np.array(ignored, bool)
    above = scores[None, :] >= SWEEP[:, None]
    true_positives = (above & matched & counted).sum(axis=1)
    positives = (above & counted).sum(axis=1)
    return true_positives / np.maximum(positives, 1), true_positives / max(truths, 1)


def service_records(detector: Detector, coco: COCO, images: Path) -> list[dict]:
    """Detections with the service's defaults except a low score_th (the sweep filters scores afterwards).

    Filtering afterwards is exact: NMS only lets higher scores suppress lower ones, and the top
    maxResults of the boxes above a threshold are the ones above it among the overall top maxResults.
    """
    return detect_all(detector, coco, images, replace(PredictParams(), score_th=float(SWEEP[0])))[0]


def main() -> None:
    """Print one row per model, then the threshold comparison if asked."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="embedded model name or model.onnx[:family]")
    parser.add_argument("--images", type=Path, default=COCO_DEV / "images")
    parser.add_argument("--annotations", type=Path, default=COCO_DEV / "instances_val2017_subset.json")
    parser.add_argument(
        "--threads", type=int, default=1, help="ONNX Runtime intra-op threads (1: as each server worker)"
    )
    parser.add_argument(
        "--resize", choices=["letterbox", "stretch"], help="override the family's resize (to measure it)"
    )
    parser.add_argument("--anchor", choices=["top-left", "center"], help="override where a letterboxed image sits")
    parser.add_argument("--rounding", choices=["floor", "round"], help="override the letterbox size rounding")
    parser.add_argument("--reference", help="MODEL@SCORE_TH: find each model's score_th of equal precision")
    parser.add_argument("--rounds", type=int, default=3, help="timing passes over the images, models taking turns")
    args = parser.parse_args()

    specs = args.models or [model.name for model in EMBEDDED_MODELS]
    detectors = {spec: load_detector(spec, args.threads) for spec in specs}
    overrides = {k: v for k, v in (("resize", args.resize), ("anchor", args.anchor), ("rounding", args.rounding)) if v}
    for detector in detectors.values():
        detector._recipe = replace(detector._recipe, **overrides)  # measuring recipes is this tool's job
    print(
        f"{len(json.loads(args.annotations.read_text())['images'])} images from {args.images}, "
        f"intra-op threads {args.threads}" + (f", recipe overrides {overrides}" if overrides else "")
    )
    files = [args.images / image["file_name"] for image in json.loads(args.annotations.read_text())["images"]]
    timings = interleaved_ms(detectors, [path.read_bytes() for path in files], args.rounds)
    print(f"{'model':36} {'family':9} {'recipe':24} {'AP':>5} {'AP50':>5} {'AP75':>5} {'AR100':>5} {'median ms':>9}")
    for spec, detector in detectors.items():
        score = evaluate(detector, args.annotations, args.images, warm_up=False)
        recipe = detector._recipe
        described = f"{recipe.resize}/{recipe.anchor if recipe.resize == 'letterbox' else '-'}/{recipe.rounding}"
        print(
            f"{Path(spec).name:36} {detector.info.family:9} {described:24} {score.ap:5.1f} {score.ap50:5.1f} "
            f"{score.ap75:5.1f} {score.ar100:5.1f} {timings[spec]:9.2f}"
        )
    print(
        f"median ms: end to end (decode .. NMS) per image, the models taking turns image by image, {args.rounds} passes"
    )
    if args.reference:
        compare_thresholds(detectors, args)


def compare_thresholds(detectors: dict[str, Detector], args: argparse.Namespace) -> None:
    """Each model's precision / recall at IoU 0.5 over score_th, against the reference model's precision."""
    reference, _, threshold = args.reference.partition("@")
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(args.annotations))
    if reference not in detectors:
        detectors = {**detectors, reference: load_detector(reference, args.threads)}
    curves = {spec: precision_recall(coco, service_records(d, coco, args.images)) for spec, d in detectors.items()}
    matching = np.flatnonzero(np.isclose(SWEEP, float(threshold or "nan")))
    if not len(matching):
        raise SystemExit(f"--reference needs MODEL@SCORE_TH with SCORE_TH in {SWEEP[0]}..{SWEEP[-1]} in steps of 0.01")
    at = int(matching[0])
    target = curves[reference][0][at]
    print(
        f"\nprecision / recall at IoU 0.5, service defaults but score_th; reference {reference} at {threshold}: "
        f"precision {target:.3f}, recall {curves[reference][1][at]:.3f}"
    )
    print(f"{'model':36} " + " ".join(f"{t:>11.2f}" for t in SWEEP[::5]) + "   score_th of equal precision")
    for spec, (precision, recall) in curves.items():
        reaching = np.flatnonzero(precision >= target - 1e-9)
        equal = (
            f"{SWEEP[reaching[0]]:.2f} (P {precision[reaching[0]]:.3f}, R {recall[reaching[0]]:.3f})"
            if len(reaching)
            else "none"
        )
        cells = " ".join(f"{p:.3f}/{r:.3f}" for p, r in zip(precision[::5], recall[::5]))
        print(f"{Path(spec).name:36} {cells}   {equal}")


if __name__ == "__main__":
    main()
