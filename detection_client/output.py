"""Human-readable and JSON renderings of results."""

from __future__ import annotations

import json

from .rounding import rounded_detection

CLASS_WIDTH = 14  # the longest COCO names ("baseball glove", "tennis racket") fit


def table_header(file_width: int) -> str:
    """Column titles of the results table."""
    return f"{'FILE':<{file_width}}  {'CLASS':<{CLASS_WIDTH}}  {'SCORE':>5}  BOX (x1, y1, x2, y2 px)"


def table_rows(name: str, result: dict, file_width: int) -> list[str]:
    """One line per detection; one line saying so when there are none."""
    if not result["detections"]:
        return [f"{name:<{file_width}}  (none)"]
    return [
        f"{name:<{file_width}}  {d['class_name']:<{CLASS_WIDTH}}  {d['score']:5.2f}  "
        + ", ".join(f"{v:.0f}" for v in d["box"])
        for d in result["detections"]
    ]


def image_record(name: str, result: dict | None = None, error: dict | None = None) -> dict:
    """What --json prints and --json-dir writes for one image: the server's result, or the error."""
    if error is not None:
        return {"file": name, "error": error}
    record = {"file": name, **(result or {})}
    if isinstance(record.get("detections"), list):
        record["detections"] = [rounded_detection(d) if isinstance(d, dict) else d for d in record["detections"]]
    return record


def to_json(value: object) -> str:
    """Indented JSON, as written to stdout and files."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def to_json_line(value: object) -> str:
    """One-line JSON, for JSON Lines."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
