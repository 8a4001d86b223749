"""How small may the page shrink a photo before uploading it? COCO AP and box agreement, original vs shrunk.

    .venv/bin/python -m tools.measure_upload_shrink [MODEL ...] [--factors 1,1.5,2,3] [--megapixels 12] [--limit N]
        [--labelled-only]

Each COCO dev photo (tests/data/coco-dev) is scaled up to a phone-sized JPEG (12 MP by default, Lanczos, a
little sensor noise, quality 92: 2-4 MB like a phone's). It is then sent as it is, and shrunk as the page
shrinks it: the longest side FACTOR x the model's input side, Chrome's "high" resize (Pillow's antialiased
bilinear matches it best, mean difference < 1 grey level), JPEG at the page's quality. Both go through the same
`Detector.predict_bytes` (the server's decoding, draft mode included). Boxes are mapped back to the COCO
image's pixels and scored with pycocotools (COCO's protocol: score_th 0.01, NMS 0.65, 100 per image).

The page's factor and JPEG quality are read from webapp/static/shrink.js (their one declaration). The labelled
photos (tests/data/photos, scaled up the same way) check the page's factor at the service's defaults: each
detection on the original is matched (same class, best IoU) to one on the shrunk upload, and the largest
difference of a box edge is given as a percentage of the image's width or height.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

ROOT = Path(__file__).resolve().parent.parent
from inference import Detector, ModelError, PredictParams
from inference.catalog import EMBEDDED_MODELS, embedded_model
from inference.labels import find_class
from tools.evaluate_coco import AP_PARAMS, COCO_DEV, load_detector

SHRINK_JS = ROOT / "webapp" / "static" / "shrink.js"
GROUND_TRUTH = ROOT / "tests" / "data" / "ground_truth.json"


def page_constant(name: str) -> float:
    """A number declared in shrink.js as `export const NAME = 1.5;`."""
    found = re.search(rf"export const {name} = ([0-9.]+);", SHRINK_JS.read_text())
    if not found:
        raise SystemExit(f"{SHRINK_JS} declares no {name}")
    return float(found.group(1))


def phone_photo(image: Image.Image, megapixels: float, seed: int, noise: float = 3.0) -> bytes:
    """`image` scaled up to about `megapixels`, with sensor-like noise (`noise` grey levels), as a quality-92 JPEG."""
    scale = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
    big = image.convert("RGB").resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
    )
    grain = np.random.default_rng(seed).normal(0, noise, (big.height, big.width, 3))
    pixels = np.clip(np.asarray(big, np.float32) + grain, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92)
    return out.getvalue()


def shrink_like_the_page(upright: Image.Image, longest: int, quality: float) -> bytes:
    """What shrink.js sends: at most `longest` pixels long, antialiased bilinear, JPEG."""
    scale = longest / max(upright.size)
    if scale >= 1:
        raise ValueError("the page sends such an image as it is")
    size = (max(1, round(upright.width * scale)), max(1, round(upright.height * scale)))
    out = io.BytesIO()
    upright.resize(size, Image.Resampling.BILINEAR).save(out, "JPEG", quality=round(quality * 100))
    return out.getvalue()


def upload_side(detector: Detector, factor: float) -> int:
    """shrink.js's uploadSideFor for one model."""
    return round(factor * max(detector.info.input_size))


def category_map(detector: Detector, coco: COCO) -> dict[int, int]:
    """Model class id -> COCO category id, by name."""
    categories = {c["name"]: c["id"] for c in coco.loadCats(coco.getCatIds())}
    names = list(categories)
    found = {i: find_class(name, names) for i, name in enumerate(detector.info.class_names)}
    return {i: categories[names[j]] for i, j in found.items() if j is not None}


def coco_records(detections, image_id: int, coco_size: tuple[int, int], classes: dict[int, int]) -> list[dict]:
    """Detections on a resized copy -> COCO result records in the COCO image's pixels."""
    sx, sy = coco_size[0] / detections.image_size[0], coco_size[1] / detections.image_size[1]
    records = []
    for (x1, y1, x2, y2), score, class_id in zip(
        detections.xyxy.tolist(), detections.confidence.tolist(), detections.class_id
    ):
        if int(class_id) in classes:
            records.append(
                {
                    "image_id": image_id,
                    "category_id": classes[int(class_id)],
                    "bbox": [x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy],
                    "score": score,
                }
            )
    return records


def measure_coco(detectors: dict[str, Detector], factors: list[float], args: argparse.Namespace) -> None:
    """AP per model: COCO image as is, the phone-sized original, and each shrink factor."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(args.annotations))
    image_ids = sorted(coco.getImgIds())[: args.limit or None]
    variants = ["coco", "original"] + [f"x{f:g}" for f in factors]
    records = {(m, v): [] for m in detectors for v in variants}
    sizes = {v: [] for v in variants}
    server_ms = {(m, v): [] for m in detectors for v in variants}
    classes = {name: category_map(d, coco) for name, d in detectors.items()}
    for index, image_id in enumerate(image_ids):
        info = coco.loadImgs(image_id)[0]
        coco_bytes = (args.images / info["file_name"]).read_bytes()
        with Image.open(io.BytesIO(coco_bytes)) as image:
            original = phone_photo(ImageOps.exif_transpose(image), args.megapixels, seed=image_id)
        upright = Image.open(io.BytesIO(original)).convert("RGB")  # the browser decodes it fully
        sent = {"coco": coco_bytes, "original": original}
        for name, detector in detectors.items():
            for factor in factors:
                sent[f"x{factor:g}"] = shrink_like_the_page(upright, upload_side(detector, factor), args.quality)
            for variant, data in sent.items():
                started = time.perf_counter()
                detections = detector.predict_bytes(data, AP_PARAMS)
                server_ms[(name, variant)].append((time.perf_counter() - started) * 1000)
                records[(name, variant)] += coco_records(
                    detections, image_id, (info["width"], info["height"]), classes[name]
                )
        for variant, data in sent.items():
            sizes[variant].append(len(data))
        print(f"\r{index + 1}/{len(image_ids)} images", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    print(
        f"\nCOCO AP on {len(image_ids)} dev photos at ~{args.megapixels:g} MP (COCO protocol), "
        f"JPEG quality {args.quality:g}; page factor {args.page_factor:g}"
    )
    print(f"{'model':14} {'sent':22} {'median bytes':>12} {'AP':>5} {'AP50':>5} {'AP75':>5} {'ms/image':>8}")
    for name, detector in detectors.items():
        for variant in variants:
            stats = coco_eval_subset(coco, records[(name, variant)], image_ids)
            label = describe_variant(variant, detector)
            print(
                f"{name:14} {label:22} {statistics.median(sizes[variant]):12,.0f} {stats[0] * 100:5.1f} "
                f"{stats[1] * 100:5.1f} {stats[2] * 100:5.1f} {statistics.median(server_ms[(name, variant)]):8.1f}"
            )


def coco_eval_subset(coco: COCO, records: list[dict], image_ids: list[int]) -> np.ndarray:
    """COCOeval stats restricted to the images measured (with --limit)."""
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(coco, coco.loadRes(records) if records else COCO(), "bbox")
        evaluation.params.imgIds = image_ids
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats


def describe_variant(variant: str, detector: Detector) -> str:
    if variant == "coco":
        return "COCO file (~640 px)"
    if variant == "original":
        return "phone-sized original"
    factor = float(variant[1:])
    return f"shrunk x{factor:g} ({upload_side(detector, factor)} px)"


def measure_labelled(detectors: dict[str, Detector], args: argparse.Namespace) -> None:
    """Box agreement, original vs the page's shrink, on the labelled photos at each model's defaults."""
    photos = [entry["file"] for entry in json.loads(GROUND_TRUTH.read_text())["images"]]
    print(
        f"\nLabelled photos ({len(photos)}) at ~{args.megapixels:g} MP, page factor {args.page_factor:g}, "
        "service defaults: largest box-edge difference, shrunk vs original, as % of the image's side"
    )
    print(
        f"{'model':14} {'matched':>7} {'only on one':>11} {'largest %':>9}  worst photo; detections found on one only"
    )
    for name, detector in detectors.items():
        params = PredictParams.from_mapping(embedded_defaults(name))
        matched, unmatched, worst, worst_photo = 0, [], 0.0, ""
        for seed, photo in enumerate(photos):
            with Image.open(GROUND_TRUTH.parent / photo) as image:
                original = phone_photo(ImageOps.exif_transpose(image), args.megapixels, seed=seed)
            upright = Image.open(io.BytesIO(original)).convert("RGB")
            shrunk = shrink_like_the_page(upright, upload_side(detector, args.page_factor), args.quality)
            on_original = detector.predict_bytes(original, params)
            on_shrunk = detector.predict_bytes(shrunk, params)
            pairs, lonely = match(on_original, on_shrunk)
            matched += len(pairs)
            unmatched += [f"{Path(photo).stem}: {text}" for text in lonely]
            for deviation in pairs:
                if deviation > worst:
                    worst, worst_photo = deviation, photo
        print(
            f"{name:14} {matched:7} {len(unmatched):11} {worst * 100:9.2f}  {worst_photo}; {', '.join(unmatched) or '-'}"
        )


def embedded_defaults(name: str) -> dict:
    """The model's own default parameters (e.g. its score threshold)."""
    try:
        return dict(embedded_model(name).default_params)
    except ModelError:  # a model brought by the user: the declared defaults
        return {}


def match(original, shrunk) -> tuple[list[float], list[str]]:
    """Greedy same-class best-IoU pairs: each pair's largest edge difference as a fraction of the image side, and
    the detections left alone ("<class> <score> on the original|shrunk")."""
    width, height = original.image_size
    sx, sy = width / shrunk.image_size[0], height / shrunk.image_size[1]
    mapped = shrunk.xyxy * np.array([sx, sy, sx, sy], np.float32)
    free = set(range(len(shrunk)))
    deviations, alone = [], []
    describe = lambda found, i, where: f"{found.labels()[i]} {found.confidence[i]:.2f} on the {where}"
    for i, box in enumerate(original.xyxy):
        candidates = [j for j in free if shrunk.class_id[j] == original.class_id[i]]
        best = max(candidates, key=lambda j: iou(box, mapped[j]), default=None)
        if best is None or iou(box, mapped[best]) < 0.5:
            alone.append(describe(original, i, "original"))
            continue
        free.discard(best)
        difference = np.abs(box - mapped[best]) / np.array([width, height, width, height])
        deviations.append(float(difference.max()))
    return deviations, alone + [describe(shrunk, j, "shrunk") for j in sorted(free)]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "models", nargs="*", help="embedded model name or model.onnx[:family] (default: every embedded model)"
    )
    parser.add_argument("--factors", default="1,1.5,2,3", help="longest side sent / model input side, to compare")
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--limit", type=int, default=0, help="only the first N dev photos (0: all)")
    parser.add_argument("--images", type=Path, default=COCO_DEV / "images")
    parser.add_argument("--annotations", type=Path, default=COCO_DEV / "instances_val2017_subset.json")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: all cores)")
    parser.add_argument("--labelled-only", action="store_true", help="only the box agreement on the labelled photos")
    args = parser.parse_args()
    args.page_factor = page_constant("SIDE_PER_INPUT_SIDE")
    args.quality = page_constant("JPEG_QUALITY")
    factors = sorted({float(f) for f in args.factors.split(",")} | {args.page_factor})
    specs = args.models or [model.name for model in EMBEDDED_MODELS]
    detectors = {spec: load_detector(spec, args.threads) for spec in specs}
    measure_labelled(detectors, args)
    if not args.labelled_only:
        measure_coco(detectors, factors, args)


if __name__ == "__main__":
    main()
