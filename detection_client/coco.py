"""COCO results: category ids by class name, image ids, and the document pycocotools loads with COCO(path)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from . import rounding
from .errors import UsageError

# COCO 2017's 80 detection categories in id order (COCO's official names; a copy of the COCO table, which a
# test checks against inference/models/coco_classes.txt), and the ten ids 1..90 that COCO left unused.
COCO_NAMES = (
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
)
UNUSED_COCO_IDS = frozenset({12, 26, 29, 30, 45, 66, 68, 69, 71, 83})
COCO_IDS = tuple(i for i in range(1, 91) if i not in UNUSED_COCO_IDS)
# Darknet/VOC spellings of COCO classes that some models' label files use (the server's aliases too).
ALIASES = {
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "sofa": "couch",
    "pottedplant": "potted plant",
    "diningtable": "dining table",
    "tvmonitor": "tv",
}


def class_key(name: str) -> str:
    """A class name as compared: case, spaces, underscores and darknet spellings ignored."""
    key = re.sub(r"[\s_]+", "", name).casefold()
    return re.sub(r"[\s_]+", "", ALIASES.get(key, key)).casefold()


class CocoCategories:
    """Class name -> COCO category id, from a reference annotation file, COCO's own table, or the model's names."""

    def __init__(self, categories: Iterable[dict]) -> None:
        self.categories = [{"id": int(c["id"]), "name": str(c["name"])} for c in categories]
        self._by_key = {class_key(c["name"]): c["id"] for c in self.categories}

    @classmethod
    def for_model(cls, class_names: tuple[str, ...]) -> CocoCategories:
        """COCO's ids when every class of the model is a COCO class (or no names are known), else 1 + class id."""
        coco = cls({"id": i, "name": name} for i, name in zip(COCO_IDS, COCO_NAMES))
        if all(coco.id_for(name) is not None for name in class_names):
            return coco
        return cls({"id": i + 1, "name": name} for i, name in enumerate(class_names))

    def id_for(self, class_name: str) -> int | None:
        """The category id of a class name, None if it has none."""
        return self._by_key.get(class_key(class_name))


class CocoImageIds:
    """Image id per file: the reference's id for the same file name, else the number in a name like
    000000005001.jpg when every file has one, else 1, 2, 3... in input order."""

    def __init__(self, names: list[str], reference: dict | None = None) -> None:
        if reference is not None:
            by_name = {Path(image["file_name"]).name: int(image["id"]) for image in reference.get("images", ())}
            next_id = max(by_name.values(), default=0) + 1
            self._ids = {}
            for name in names:  # a file the reference lacks gets a new id after the reference's
                known = by_name.get(Path(name).name)
                self._ids[name] = next_id if known is None else known
                next_id += known is None
            return
        stems = [Path(name).stem for name in names]
        numeric = all(stem.isdigit() for stem in stems) and len({int(s) for s in stems}) == len(stems)
        self._ids = {name: int(stem) if numeric else i + 1 for i, (name, stem) in enumerate(zip(names, stems))}

    def __getitem__(self, name: str) -> int:
        return self._ids[name]


def read_reference(path: Path) -> dict:
    """A COCO annotation file (its images and categories give the ids)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the COCO reference {path}: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("categories"), list):
        raise UsageError(f"{path} is not a COCO annotation file (no categories list)")
    return document


def coco_document(records: Iterable[dict], categories: CocoCategories, image_ids: CocoImageIds) -> tuple[dict, int]:
    """The COCO results as a dataset (images, categories, annotations with scores), and how many detections
    had no category. `COCO(path)` loads it; `coco_gt.loadRes(document["annotations"])` takes its annotations."""
    images, annotations, unmatched = [], [], 0
    for record in records:
        image_id = image_ids[record["file"]]
        images.append(
            {
                "id": image_id,
                "file_name": Path(record["file"]).name,
                "width": record["image"]["width"],
                "height": record["image"]["height"],
            }
        )
        for detection in record["detections"]:
            category_id = categories.id_for(detection["class_name"])
            if category_id is None:
                unmatched += 1
                continue
            x1, y1, x2, y2 = detection["box"]
            width, height = rounding.pixels(x2 - x1), rounding.pixels(y2 - y1)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": category_id,
                    "bbox": [rounding.pixels(x1), rounding.pixels(y1), width, height],
                    "area": rounding.area(width, height),
                    "iscrowd": 0,
                    "score": rounding.score(detection["score"]),
                }
            )
    images.sort(key=lambda image: image["id"])
    return {"images": images, "annotations": annotations, "categories": categories.categories}, unmatched
