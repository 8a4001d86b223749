"""Start-up: the models loaded are logged; a family the outputs contradict is refused with the shapes."""

from __future__ import annotations

import logging

import pytest

from inference import Detector, ModelError
from inference.catalog import embedded_model
from webapp.app import create_app

YOLOX = embedded_model("yolox_nano").path


@pytest.mark.parametrize(
    ("family", "message"),
    [
        (
            "yolov8",
            r"set to 'yolov8' but its outputs \[\(1, 3549, 85\)\] then give 3545 classes for 85 boxes; they look like 'yolox'",
        ),
        ("detr", "do not decode as detr"),
        ("centernet", "do not decode as centernet"),
    ],
)
def test_a_family_the_outputs_contradict_is_refused_with_the_shapes(family, message):
    with pytest.raises(ModelError, match=message):
        Detector(YOLOX, family=family)


def test_yolov5_and_yolox_share_a_layout_and_may_be_named_for_each_other():
    assert Detector(YOLOX, family="yolov5").info.family == "yolov5"


def test_start_up_logs_each_model_with_family_source_hash_and_warm_up(caplog):
    with caplog.at_level(logging.INFO, logger="webapp.app"):
        create_app({"TESTING": True, "MODELS": ["yolox_nano", "deimv2_femto"]})
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model ")]
    assert len(lines) == 2
    assert lines[0].startswith("model yolox_nano loaded: family yolox") and lines[0].endswith("(default)")
    assert "sha256 695e750a5d57" in lines[0] and "warm-up" in lines[0]
    assert lines[1].startswith("model deimv2_femto loaded: family detr")


def test_the_default_configuration_serves_every_embedded_model_the_most_accurate_first():
    app = create_app({"TESTING": True})
    body = app.test_client().get("/api/models").get_json()
    assert body["default"] == "deimv2_femto"
    assert [m["name"] for m in body["models"]] == ["deimv2_femto", "yolox_nano"]


def test_an_unknown_models_item_names_the_setting_and_the_choices(tmp_path):
    with pytest.raises(
        ModelError, match="MODELS=nope: neither an embedded model \\(deimv2_femto, yolox_nano\\) nor a file"
    ):
        create_app({"TESTING": True, "MODELS": ["nope"]})


def test_a_worker_caps_opencv_threads_at_its_share_of_the_cores():
    import cv2

    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        create_app({"TESTING": True, "MODELS": ["yolox_nano"], "ORT_INTRA_OP_THREADS": 0})
        assert cv2.getNumThreads() == 2  # 0: not set, OpenCV keeps its own default
        create_app({"TESTING": True, "MODELS": ["yolox_nano"], "ORT_INTRA_OP_THREADS": 1})
        assert cv2.getNumThreads() == 1  # resizes run in the request's thread: no pool spinning on other cores
    finally:
        cv2.setNumThreads(before)
