"""Family detection and decoding through Detector, on tiny ONNX models with planted boxes."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from onnx_graphs import CELLS_64, constant_model, ultralytics_metadata, yolov5_output, yolov8_output

from inference import Detector, ModelError, ParameterError, PredictParams
from inference.labels import coco_class_names

# A 128x64 image in a 64x64 input: scale 1/2, 16 rows of padding above and below (centred letterbox).
IMAGE = np.zeros((64, 128, 3), np.uint8)
KEEP_SMALL = PredictParams(min_width=0, min_height=0)


def to_image_centred(x1: float, y1: float, x2: float, y2: float) -> list[float]:
    """Model-input box -> IMAGE pixels for a centred letterbox."""
    return [x1 * 2, (y1 - 16) * 2, x2 * 2, (y2 - 16) * 2]


def found(detections) -> list[tuple[str, float, list[float]]]:
    """(name, score, box) per detection, rounded for comparison."""
    return [
        (name, round(float(score), 4), [round(float(v), 3) for v in box])
        for name, score, box in zip(detections.labels(), detections.confidence, detections.xyxy)
    ]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """Directory for the module's tiny models."""
    return tmp_path_factory.mktemp("models")


def test_yolov5_layout_is_detected_and_decoded(models) -> None:
    planted = [
        ((32, 32, 20, 10), 0.9, 0, 1.0),  # person, score 0.9
        ((10, 40, 8, 8), 0.8, 2, 0.75),  # car, score 0.8 x 0.75 = 0.6
        ((50, 30, 10, 10), 0.9, 5, 0.2),  # objectness x class = 0.18: under the 0.3 default
    ]
    detector = Detector(constant_model(models / "v5.onnx", [yolov5_output(planted)]))
    info = detector.info
    assert (info.family, info.input_size, info.class_names) == ("yolov5", (64, 64), coco_class_names())
    assert found(detector.predict(IMAGE, KEEP_SMALL)) == [
        ("person", 0.9, to_image_centred(22, 27, 42, 37)),
        ("car", 0.6, to_image_centred(6, 36, 14, 44)),
    ]


def test_yolov8_layout_with_ultralytics_metadata(models) -> None:
    names = [f"thing{i}" for i in range(80)]
    planted = [((32, 20, 16, 8), 7, 0.8), ((48, 40, 8, 16), 79, 0.95)]
    output = yolov8_output(planted)
    assert output.shape == (1, 84, CELLS_64)  # as many rows as columns: only the metadata and grid tell
    detector = Detector(constant_model(models / "v8.onnx", [output], metadata=ultralytics_metadata(names)))
    assert (detector.info.family, detector.info.class_names) == ("yolov8", tuple(names))
    assert found(detector.predict(IMAGE, KEEP_SMALL)) == [
        ("thing79", 0.95, to_image_centred(44, 32, 52, 48)),
        ("thing7", 0.8, to_image_centred(24, 16, 40, 24)),
    ]


def test_yolov8_layout_without_metadata(models) -> None:
    output = yolov8_output([((32, 32, 64, 64), 1, 0.7)], num_classes=3)
    detector = Detector(constant_model(models / "v8_3.onnx", [output]))
    assert (detector.info.family, detector.info.class_names) == ("yolov8", ("class_0", "class_1", "class_2"))
    assert found(detector.predict(IMAGE)) == [("class_1", 0.7, [0.0, 0.0, 128.0, 64.0])]  # clipped to the image


def test_yolox_layout_decodes_grid_cells(models) -> None:
    rows = np.zeros((1, CELLS_64, 85), np.float32)
    # Stride-16 cell (gx 1, gy 1) is row 8*8 + 1*4 + 1: centre ((1 + .5) * 16, (1 + .25) * 16), size (2 * 16, 1 * 16).
    rows[0, 69, :5] = (0.5, 0.25, np.log(2), 0.0, 0.8)
    rows[0, 69, 5 + 15] = 0.5  # cat
    detector = Detector(constant_model(models / "yolox.onnx", [rows]))
    assert detector.info.family == "yolox"
    # YOLOX letterboxes top-left: no vertical offset, scale 2.
    assert found(detector.predict(IMAGE, KEEP_SMALL)) == [("cat", 0.4, [16.0, 24.0, 80.0, 56.0])]


def test_family_forced_by_name_overrides_detection(models) -> None:
    output = yolov8_output([((32, 32, 20, 10), 0, 0.9)])  # [1, 84, 84] with no metadata also fits YOLOX
    detector = Detector(constant_model(models / "v8_plain.onnx", [output]), family="yolov8")
    assert detector.info.family == "yolov8"
    assert found(detector.predict(IMAGE, KEEP_SMALL)) == [("person", 0.9, to_image_centred(22, 27, 42, 37))]


def test_nhwc_input_with_symbolic_size_takes_the_configured_size(models) -> None:
    path = constant_model(models / "nhwc.onnx", [yolov8_output([], num_classes=2)], input_shape=("batch", "h", "w", 3))
    detector = Detector(path, input_size=64)
    assert (detector.info.input_layout, detector.info.input_size, detector.info.family) == ("nhwc", (64, 64), "yolov8")
    assert len(detector.predict(IMAGE)) == 0


def test_outputs_fitting_no_family_are_refused_naming_the_shapes(models) -> None:
    with pytest.raises(ModelError, match=r"outputs \[\(1, 7\)\] \(input 64x64\) fit no supported family"):
        Detector(constant_model(models / "odd.onnx", [np.zeros((1, 7))]))


def test_forced_family_that_does_not_fit_is_refused(models) -> None:
    with pytest.raises(ModelError, match="do not decode as yolov8"):
        Detector(constant_model(models / "odd.onnx", [np.zeros((1, 7))]), family="yolov8")


def test_unknown_family_name_is_refused(models) -> None:
    with pytest.raises(ModelError, match="unknown model family 'detr'; supported: yolox, yolov5, yolov8"):
        Detector(constant_model(models / "v5.onnx", [yolov5_output([])]), family="detr")


def test_input_that_is_not_an_image_is_refused(models) -> None:
    with pytest.raises(ModelError, match="expected one image input of rank 4"):
        Detector(constant_model(models / "flat.onnx", [yolov5_output([])], input_shape=(1, 64)))


def test_a_file_that_is_not_onnx_is_refused(tmp_path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_text("this is not a protobuf")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Detector(fake)
    with pytest.raises(ModelError, match="cannot read the model file"):
        Detector(tmp_path / "missing.onnx")


@pytest.fixture(scope="module")
def three_class_model(models) -> Path:
    """YOLOv8 layout, 3 classes, one detection of class 2."""
    return constant_model(models / "three.onnx", [yolov8_output([((32, 32, 20, 10), 2, 0.9)], num_classes=3)])


def test_class_names_from_a_list(three_class_model) -> None:
    detector = Detector(three_class_model, class_names=["ant", "bee", "cow"])
    assert detector.info.class_names == ("ant", "bee", "cow")
    assert detector.predict(IMAGE, KEEP_SMALL).labels() == ["cow"]


@pytest.mark.parametrize("as_type", [str, Path])
def test_class_names_from_a_labels_file(three_class_model, tmp_path, as_type) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("ant\n\n  bee  \ncow\n", encoding="utf-8")  # blank lines and spaces are not names
    assert Detector(three_class_model, class_names=as_type(labels)).info.class_names == ("ant", "bee", "cow")


def test_class_names_from_metadata_as_a_list(models) -> None:
    path = constant_model(models / "listed.onnx", [yolov8_output([], num_classes=2)], metadata={"names": "['a', 'b']"})
    assert Detector(path).info.class_names == ("a", "b")


@pytest.mark.parametrize(
    ("class_names", "message"),
    [
        (["ant", "bee"], "the model predicts 3 classes but 2 class names were given"),
        ("/nonexistent/labels.txt", "cannot read the labels file"),
    ],
)
def test_class_names_that_do_not_fit_are_refused(three_class_model, class_names, message) -> None:
    with pytest.raises(ModelError, match=message):
        Detector(three_class_model, class_names=class_names)


@pytest.mark.parametrize("names", ["{0: 'a', oops", "__import__('os').getcwd()", "42", "{0: 'a', 'x': 'b'}"])
def test_unusable_metadata_names_are_a_model_error(models, names) -> None:
    metadata = {"author": "Ultralytics", "names": names}
    path = constant_model(models / "badnames.onnx", [yolov8_output([], num_classes=2)], metadata=metadata)
    with pytest.raises(ModelError, match="metadata 'names'"):
        Detector(path)


def test_classes_parameter_filters_by_name_or_id(models) -> None:
    planted = [((32, 32, 20, 10), 0.9, 0, 1.0), ((10, 40, 8, 8), 0.8, 2, 0.75)]
    detector = Detector(constant_model(models / "v5_two.onnx", [yolov5_output(planted)]))
    assert detector.predict(IMAGE, replace(KEEP_SMALL, classes=("car",))).labels() == ["car"]
    assert detector.predict(IMAGE, replace(KEEP_SMALL, classes=(0, "car"))).labels() == ["person", "car"]
    with pytest.raises(ParameterError, match="unknown class 'unicorn'"):
        detector.predict(IMAGE, PredictParams(classes=("unicorn",)))
    with pytest.raises(ParameterError, match="unknown class 80"):
        detector.predict(IMAGE, PredictParams(classes=(80,)))
