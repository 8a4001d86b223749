"""Accuracy: the default model's COCO AP on the dev set never drops below the catalogue's (and the card's) figure."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from inference.catalog import DEFAULT_MODEL, EMBEDDED_MODELS, embedded_model
from inference.labels import coco_class_names
from tools.evaluate_coco import COCO_DEV, SWEEP, evaluate, precision_recall
from tools.evaluate_models import match_image

CARD = Path(__file__).resolve().parent.parent / "inference" / "models" / "MODEL_CARD.md"


@pytest.mark.slow  # the whole dev set through the model
def test_default_model_meets_its_coco_ap_on_the_dev_set():
    model = embedded_model(DEFAULT_MODEL)
    score = evaluate(model.load(intra_op_threads=1), warm_up=False)
    assert score.images == 47
    assert score.ap >= model.coco_dev.ap, f"AP {score.ap} < {model.coco_dev.ap}: update the card only with a reason"
    assert score.ap50 >= model.coco_dev.ap50


def test_default_is_the_first_embedded_model_and_beats_yolox_by_3_ap():
    assert EMBEDDED_MODELS[0].name == DEFAULT_MODEL == "deimv2_femto"
    assert embedded_model(DEFAULT_MODEL).coco_dev.ap >= embedded_model("yolox_nano").coco_dev.ap + 3


@pytest.mark.parametrize("model", EMBEDDED_MODELS, ids=lambda model: model.name)
def test_model_card_quotes_the_catalogue(model):
    measured = model.coco_dev
    row = (
        f"| {model.title} | `{model.name}` | {model.family} | {measured.ap:.1f} | {measured.ap50:.1f} | "
        f"{measured.ap75:.1f} | {measured.ar100:.1f} | {model.default_params['score_th']:.2f} | "
        f"{measured.precision:.3f} | {measured.recall:.3f} | {measured.ms_per_image:.1f} |"
    )
    assert row in CARD.read_text(), f"MODEL_CARD.md lacks the row\n{row}"
    assert model.sha256 in CARD.read_text()


def test_coco_names_are_the_dev_set_categories_in_id_order():
    categories = json.loads((COCO_DEV / "instances_val2017_subset.json").read_text())["categories"]
    assert coco_class_names() == tuple(c["name"] for c in sorted(categories, key=lambda c: c["id"]))


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


def test_card_commands_name_existing_tools():
    for tool in set(re.findall(r"tools/\w+\.py", CARD.read_text())):
        assert (CARD.parents[2] / tool).is_file(), tool


def test_precision_and_recall_count_matches_at_iou_half_by_threshold():
    from pycocotools.coco import COCO

    coco = COCO(str(COCO_DEV / "instances_val2017_subset.json"))
    truths = [a for a in coco.dataset["annotations"] if not a["iscrowd"]]
    exact = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.9} for a in truths
    ]
    # Every object found at 0.9, plus one stray 2x2 box in the image's corner per object at 0.2.
    stray = [{**r, "bbox": [0, 0, 2, 2], "score": 0.2} for r in exact]
    precision, recall = precision_recall(coco, exact + stray)
    at = {round(float(t), 2): i for i, t in enumerate(SWEEP)}
    assert (precision[at[0.5]], recall[at[0.5]]) == (1.0, 1.0)
    assert precision[at[0.1]] == pytest.approx(0.5) and recall[at[0.1]] == 1.0
    assert recall[at[0.95]] == 0.0
