"""Numbers written as the API writes them: pixels to 0.1, scores to 0.0001, normalised coordinates to 0.00001.

The server rounds its answers so (webapp/wire.py; tests/test_client_rounding.py checks that the two agree); what
the client computes from them (COCO's width, height and area) is rounded the same way, so that no file holds
a 60.599999999999966.
"""

from __future__ import annotations

PIXEL_DECIMALS = 1
SCORE_DECIMALS = 4
NORMALIZED_DECIMALS = 5


def pixels(value: float) -> float:
    """A coordinate or length in pixels."""
    return round(float(value), PIXEL_DECIMALS)


def area(width: float, height: float) -> float:
    """The area of a box whose sides are already rounded: exact at twice the decimals."""
    return round(float(width) * float(height), 2 * PIXEL_DECIMALS)


def score(value: float) -> float:
    return round(float(value), SCORE_DECIMALS)


def rounded_detection(detection: dict) -> dict:
    """A detection's numbers as the API rounds them (a no-op on the server's own answers)."""
    rounded = dict(detection)
    if isinstance(detection.get("score"), (int, float)):
        rounded["score"] = score(detection["score"])
    if isinstance(detection.get("box"), list):
        rounded["box"] = [pixels(v) for v in detection["box"]]
    if isinstance(detection.get("box_normalized"), list):
        rounded["box_normalized"] = [round(float(v), NORMALIZED_DECIMALS) for v in detection["box_normalized"]]
    return rounded
