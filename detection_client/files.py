"""Per-image output files: annotated PNGs (drawn as the upload page draws) and JSON results."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .output import to_json


class OutputNames:
    """Unique file stems in one run: two "photo.jpg" from different folders become photo, photo-2."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def stem_for(self, name: str) -> str:
        """A stem not used yet in this run."""
        base = Path(name).stem or "image"
        stem, counter = base, 1
        while stem in self._used:
            counter += 1
            stem = f"{base}-{counter}"
        self._used.add(stem)
        return stem


def write_json(folder: Path, stem: str, record: dict) -> Path:
    """folder/stem.json."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}.json"
    target.write_text(to_json(record) + "\n", encoding="utf-8")
    return target


def write_annotated(folder: Path, stem: str, image_bytes: bytes, result: dict) -> Path:
    """folder/stem.png: the upright image with the result's boxes, in the page's class colours."""
    # Imported here: only --annotate-dir needs OpenCV and the inference package.
    from inference import decode_image
    from inference.annotate import draw_detections, encode_png

    image = decode_image(image_bytes)  # applies EXIF orientation, as the server did for its boxes
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}.png"
    target.write_bytes(encode_png(draw_detections(image.pixels, detections_from_result(result, image.size))))
    return target


def detections_from_result(result: dict, pixels_size: tuple[int, int]):
    """inference.Detections from a server result, boxes scaled to `pixels_size` (width, height)."""
    from inference import Detections

    found = result["detections"]
    names = {d["class_id"]: d["class_name"] for d in found}
    class_names = tuple(names.get(i, f"class_{i}") for i in range(max(names, default=-1) + 1))
    scale_x = pixels_size[0] / result["image"]["width"]
    scale_y = pixels_size[1] / result["image"]["height"]
    boxes = np.array([d["box"] for d in found], np.float32).reshape(-1, 4)
    return Detections(
        xyxy=(boxes * np.array([scale_x, scale_y, scale_x, scale_y], np.float32)).astype(np.float32),
        confidence=np.array([d["score"] for d in found], np.float32),
        class_id=np.array([d["class_id"] for d in found], np.int64),
        class_names=class_names,
        image_size=pixels_size,
    )
