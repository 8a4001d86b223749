"""Does decoding big JPEGs at the model's scale cost accuracy? COCO AP on the dev set scaled up to phone size.

    .venv/bin/python -m tools.check_draft_accuracy [--long-side 4000] [MODEL ...]

Each coco-dev image is upscaled (bilinear) so its longer side is --long-side pixels (4000: a 12 MP phone
photo), saved as JPEG quality 92, and its annotations scaled alike. Three decodes are compared, everything
else equal: the draft the service uses (JPEG DCT scaling down to what the letterbox or stretch keeps), the
previous rule (both sides at least the model input), and a full decode.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
from pathlib import Path

from PIL import Image
from pycocotools.coco import COCO

from inference import Detector
from inference.catalog import EMBEDDED_MODELS, embedded_model
from inference.image_decoding import decode_image
from tools.evaluate_coco import AP_PARAMS, COCO_DEV, coco_eval, detect_all

DECODES = {
    "draft for the resize (served)": lambda d: d.decode,
    "draft, both sides >= input": lambda d: (
        lambda data, **kw: decode_image(data, target_size=d.info.input_size, keep_aspect=False, **kw)
    ),
    "full decode": lambda d: lambda data, **kw: decode_image(data, **kw),
}


def scaled_set(long_side: int, folder: Path) -> COCO:
    """The dev set's images upscaled into `folder`, and its annotations scaled to match."""
    annotations = json.loads((COCO_DEV / "instances_val2017_subset.json").read_text())
    scaled = copy.deepcopy(annotations)
    factors = {}
    for image in scaled["images"]:
        photo = Image.open(COCO_DEV / "images" / image["file_name"]).convert("RGB")
        factor = long_side / max(photo.size)
        factors[image["id"]] = factor
        size = (round(photo.width * factor), round(photo.height * factor))
        photo.resize(size, Image.Resampling.BILINEAR).save(folder / image["file_name"], "JPEG", quality=92)
        image["width"], image["height"] = size
    for annotation in scaled["annotations"]:
        factor = factors[annotation["image_id"]]
        annotation["bbox"] = [v * factor for v in annotation["bbox"]]
        annotation["area"] = annotation["area"] * factor * factor
        annotation.pop("segmentation", None)
    path = folder / "annotations.json"
    path.write_text(json.dumps(scaled))
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=[m.name for m in EMBEDDED_MODELS])
    parser.add_argument("--long-side", type=int, default=4000)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        coco = scaled_set(args.long_side, Path(folder))
        print(
            f"coco-dev upscaled to a {args.long_side} px longer side, COCO AP / AP50 (pycocotools), median ms per image"
        )
        print(f"{'model':14} {'decode':32} {'AP':>6} {'AP50':>6} {'ms':>8}")
        for name in args.models:
            detector: Detector = embedded_model(name).load(intra_op_threads=1)
            served = detector.decode
            for label, make in DECODES.items():
                detector.decode = make(detector) if label != "draft for the resize (served)" else served
                records, latencies = detect_all(detector, coco, Path(folder), AP_PARAMS)
                stats = coco_eval(coco, records).stats
                median = sorted(latencies)[len(latencies) // 2]
                print(f"{name:14} {label:32} {stats[0] * 100:>6.1f} {stats[1] * 100:>6.1f} {median:>8.1f}")


if __name__ == "__main__":
    main()
