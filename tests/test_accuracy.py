"""The default model's recall and precision on the labelled photos never drop below the model card's figures."""
import re
from pathlib import Path

from tools.evaluate_models import evaluate, match_image

import numpy as np

CARD = Path(__file__).resolve().parent.parent / "inference" / "models" / "MODEL_CARD.md"


def card_figures() -> tuple[float, float]:
    """The recall and precision the model card states for the default model."""
    found = re.search(r"Default model on the labelled set: recall (\d\.\d+), precision (\d\.\d+)", CARD.read_text())
    assert found, "MODEL_CARD.md must state the default model's recall and precision"
    return float(found[1]), float(found[2])


def test_default_model_meets_the_model_card(detector):
    recall, precision = card_figures()
    score = evaluate(detector)
    assert score.recall >= recall - 1e-9
    assert score.precision >= precision - 1e-9


def test_matching_counts_hits_misses_and_ignores_difficult_objects():
    objects = [
        {"label": "person", "box": [0, 0, 100, 100]},
        {"label": "cup", "box": [200, 200, 250, 250]},
        {"label": "tie", "box": [300, 300, 320, 340], "difficult": True},
    ]
    boxes = np.array([[2, 2, 98, 101], [300, 300, 321, 339], [0, 0, 100, 100], [500, 500, 600, 600]], np.float32)
    labels = ["person", "tie", "person", "person"]
    # person matched, tie on a difficult object ignored, duplicate person and stray box are false positives,
    # the cup is missed.
    assert match_image(labels, boxes, objects) == (1, 2, 1)
