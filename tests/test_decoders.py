"""Family detection and decoding through Detector, on tiny ONNX models with planted boxes."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from onnx_graphs import CELLS_64, constant_model, detr_model, ultralytics_metadata, yolov5_output, yolov8_output

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
    with pytest.raises(
        ModelError, match="unknown model family 'ssd'; supported: yolox, yolov5, yolov8, nanodet, centernet, detr"
    ):
        Detector(constant_model(models / "v5.onnx", [yolov5_output([])]), family="ssd")


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


@pytest.mark.parametrize(
    ("asked", "class_id"),
    [
        ("motorcycle", 3),
        ("Motorbike", 3),
        ("aeroplane", 4),
        ("SOFA", 57),
        ("couch", 57),
        ("pottedplant", 58),
        ("Potted Plant", 58),
        ("dining_table", 60),
        ("diningtable", 60),
        ("tvmonitor", 62),
        ("TV", 62),
        (" cup ", 41),
    ],
)
def test_classes_accept_coco_and_darknet_spellings_in_any_case_and_spacing(models, asked, class_id) -> None:
    detector = Detector(constant_model(models / "v5.onnx", [yolov5_output([])]))
    assert detector.class_ids_for([asked]) == [class_id]


def test_coco_names_are_the_official_ones() -> None:
    names = coco_class_names()
    assert (names[3], names[4], names[57], names[58], names[60], names[62]) == (
        "motorcycle",
        "airplane",
        "couch",
        "potted plant",
        "dining table",
        "tv",
    )


def test_aliases_reach_a_model_whose_own_names_are_darknet_spellings(three_class_model) -> None:
    detector = Detector(three_class_model, class_names=["motorbike", "tvmonitor", "Traffic_Light"])
    assert detector.class_ids_for(["motorcycle", "tv", "traffic light"]) == [0, 1, 2]
    with pytest.raises(ParameterError, match="unknown class 'car'"):
        detector.class_ids_for(["car"])


# NanoDet and CenterNet: multi-output layouts, planted on known cells so each number can be checked by hand.

NANODET_BINS = 11
CENTERNET_STRIDE = 4  # a 64x64 input gives a 16x16 heatmap


def nanodet_level(cells: int, planted: dict[int, tuple[int, float, tuple[float, float, float, float]]]):
    """Scores [1, cells, 80] and distributions [1, cells, 4 x 11]; planted: cell -> (class, score, sides in bins).

    A side of k bins is a logit spike on bin k; k + 0.5 is two equal spikes on bins k and k + 1.
    """
    scores = np.zeros((1, cells, 80), np.float32)
    distributions = np.full((1, cells, 4, NANODET_BINS), -50.0, np.float32)
    for cell, (class_id, score, sides) in planted.items():
        scores[0, cell, class_id] = score
        for side, bins in enumerate(sides):
            distributions[0, cell, side, int(bins)] = 0.0
            if bins % 1:
                distributions[0, cell, side, int(bins) + 1] = 0.0
    return scores, distributions.reshape(1, cells, 4 * NANODET_BINS)


@pytest.fixture(scope="module")
def nanodet_model(models) -> Path:
    """64x64 NanoDet head: strides 8/16/32 have 64/16/4 cells; pairs in mixed order, as converters leave them."""
    # Stride 8, cell (gx 5, gy 3) = 29: centre (44, 28), every side 1 bin = 8 px -> box (36, 20, 52, 36).
    scores_8, boxes_8 = nanodet_level(64, {29: (0, 0.9, (1, 1, 1, 1))})
    # Stride 16, cell (gx 1, gy 2) = 9: centre (24, 40), sides (1, 1, 0.5, 0) x 16 px -> box (8, 24, 32, 40).
    scores_16, boxes_16 = nanodet_level(16, {9: (15, 0.6, (1, 1, 0.5, 0))})
    scores_32, boxes_32 = nanodet_level(4, {})
    outputs = [scores_8, boxes_8, boxes_16, scores_16, scores_32, boxes_32]
    return constant_model(models / "nanodet.onnx", outputs)


def test_nanodet_layout_is_detected_and_decoded_from_cell_centres(nanodet_model) -> None:
    detector = Detector(nanodet_model)
    info = detector.info
    assert (info.family, info.input_size, info.class_names) == ("nanodet", (64, 64), coco_class_names())
    # Centred letterbox of the 128x64 image: x2, y minus 16 rows of padding then x2.
    assert found(detector.predict(IMAGE, KEEP_SMALL)) == [
        ("person", 0.9, to_image_centred(36, 20, 52, 36)),
        ("cat", 0.6, to_image_centred(8, 24, 32, 40)),
    ]
    assert to_image_centred(8, 24, 32, 40) == [16, 16, 64, 48]


def test_nanodet_logit_scores_are_squashed(models) -> None:
    levels = [nanodet_level(64, {29: (0, 0.0, (1, 1, 1, 1))}), nanodet_level(16, {}), nanodet_level(4, {})]
    outputs = []
    for scores, distributions in levels:
        scores -= 10  # logits: sigmoid(-10) ~ 0 everywhere ...
        outputs += [scores, distributions]
    outputs[0][0, 29, 0] = 0.0  # ... and sigmoid(0) = 0.5 for the person on stride 8's cell 29
    detector = Detector(constant_model(models / "nanodet_logits.onnx", outputs))
    assert found(detector.predict(IMAGE, KEEP_SMALL)) == [("person", 0.5, to_image_centred(36, 20, 52, 36))]


def test_nanodet_recipe_is_bgr_centred_zero_padded_imagenet_normalised() -> None:
    from inference.families import FAMILIES
    from inference.preprocess import prepare_input

    pixels = np.full((32, 64, 3), (10, 20, 30), np.uint8)  # RGB
    batch, transform = prepare_input(pixels, (64, 64), FAMILIES["nanodet"].preprocessing)
    assert batch.shape == (1, 3, 64, 64) and (transform.pad_x, transform.pad_y) == (0, 16)
    mean, std = (103.53, 116.28, 123.675), (57.375, 57.12, 58.395)
    for channel, value in enumerate((30, 20, 10)):  # B, G, R
        assert batch[0, channel, 32, 32] == pytest.approx((value - mean[channel]) / std[channel], abs=1e-5)
        assert batch[0, channel, 0, 0] == pytest.approx(-mean[channel] / std[channel], abs=1e-5)  # padding is 0


def centernet_outputs(channels_last: bool) -> list[np.ndarray]:
    """Heatmap [1, 16, 16, 80], side distances [1, 16, 16, 4] in input pixels, and the graph's own [1, 100, 6]."""
    heatmap = np.zeros((1, 16, 16, 80), np.float32)
    sides = np.zeros((1, 16, 16, 4), np.float32)
    # Cell (gx 5, gy 3), car 0.7: corner-anchored centre (20, 12), sides (8, 4, 12, 8) -> box (12, 8, 32, 20).
    heatmap[0, 3, 5, 2], sides[0, 3, 5] = 0.7, (8, 4, 12, 8)
    # Its neighbour (gx 6, gy 3): car 0.5 is not a 3x3 peak and goes; person 0.4 is, and stays.
    heatmap[0, 3, 6, 2], heatmap[0, 3, 6, 0], sides[0, 3, 6] = 0.5, 0.4, (4, 4, 4, 4)
    maps = [heatmap, sides] if channels_last else [heatmap.transpose(0, 3, 1, 2), sides.transpose(0, 3, 1, 2)]
    return [*maps, np.zeros((1, 100, 6), np.float32)]


@pytest.mark.parametrize("channels_last", [True, False])
def test_centernet_layout_is_detected_and_decoded_at_heatmap_peaks(models, channels_last) -> None:
    outputs = centernet_outputs(channels_last)
    path = constant_model(models / f"centernet_{channels_last}.onnx", outputs, input_shape=(1, 64, 64, 3))
    detector = Detector(path)
    info = detector.info
    assert (info.family, info.input_layout, info.input_size) == ("centernet", "nhwc", (64, 64))
    # Top-left letterbox of the 128x64 image: every coordinate x2, no offset.
    assert found(detector.predict(IMAGE, KEEP_SMALL)) == [
        ("car", 0.7, [24.0, 16.0, 64.0, 40.0]),
        ("person", 0.4, [40.0, 16.0, 56.0, 32.0]),
    ]


def test_centernet_recipe_is_rgb_top_left_raw_pixels() -> None:
    from inference.families import FAMILIES
    from inference.preprocess import prepare_input

    pixels = np.full((32, 64, 3), (10, 20, 30), np.uint8)
    batch, transform = prepare_input(pixels, (64, 64), FAMILIES["centernet"].preprocessing)
    assert batch.shape == (1, 64, 64, 3) and (transform.pad_x, transform.pad_y) == (0, 0)
    assert batch[0, 0, 0].tolist() == [10, 20, 30] and batch[0, 63, 0].tolist() == [114, 114, 114]


def test_family_override_picks_the_decoder_and_refuses_a_misfit(nanodet_model, models) -> None:
    # An Ultralytics-shaped output forced through the new families fails with the family named.
    for family in ("nanodet", "centernet"):
        with pytest.raises(ModelError, match=f"do not decode as {family}"):
            Detector(constant_model(models / "v5_forced.onnx", [yolov5_output([])]), family=family)
    with pytest.raises(ModelError, match="do not decode as centernet"):
        Detector(nanodet_model, family="centernet")
    assert Detector(nanodet_model, family="nanodet").info.family == "nanodet"


@pytest.mark.parametrize(
    "outputs",
    [
        # five NanoDet-like outputs: one stride's pair is incomplete
        [*nanodet_level(64, {}), *nanodet_level(16, {}), nanodet_level(4, {})[0]],
        # pairs whose cell count (10) is no stride's grid on a 64x64 input
        [np.zeros((1, 10, 80)), np.zeros((1, 10, 44))],
        # a heatmap without a 4-channel size map of the same grid
        [np.zeros((1, 16, 16, 80)), np.zeros((1, 8, 8, 4))],
    ],
    ids=["odd-count", "no-stride", "grid-mismatch"],
)
def test_near_miss_multi_output_layouts_are_refused_naming_the_shapes(models, outputs) -> None:
    shapes = str([tuple(np.shape(o)) for o in outputs])
    with pytest.raises(ModelError, match=re.escape(f"outputs {shapes} (input 64x64) fit no supported family")):
        Detector(constant_model(models / "near_miss.onnx", outputs))


# DETR: one box per query, scaled by the model to `orig_target_sizes`, which the Detector feeds the input size.

DETR_PLANTED = [(0, (0.25, 0.25, 0.5, 0.75), 0.9), (15, (0.5, 0.0, 1.0, 0.5), 0.6), (2, (0.0, 0.0, 0.2, 0.2), 0.1)]


def test_detr_layout_with_target_size_input_is_detected_and_stretched_back(models) -> None:
    detector = Detector(detr_model(models / "detr.onnx", DETR_PLANTED))
    info = detector.info
    assert (info.family, info.input_size, info.class_names) == ("detr", (64, 64), coco_class_names())
    # The family's recipe stretches the 128x64 image to 64x64: x2 horizontally, x1 vertically.
    assert found(detector.predict(IMAGE, KEEP_SMALL)) == [
        ("person", 0.9, [32.0, 16.0, 64.0, 48.0]),
        ("cat", 0.6, [64.0, 0.0, 128.0, 32.0]),
    ]  # the car at 0.1 is under the default score_th


@pytest.mark.parametrize(
    ("anchor", "person_box"),
    # Input box (16, 16, 32, 48); the 64x128 image is scaled by 1/2 to 32x64, so: minus the padding, x2.
    [
        ("center", [0.0, 32.0, 32.0, 96.0]),  # 16 columns of padding on the left
        ("top-left", [32.0, 32.0, 64.0, 96.0]),
    ],
)
def test_detr_boxes_map_back_through_a_letterbox(models, monkeypatch, anchor, person_box) -> None:
    from inference.families import FAMILIES

    letterboxed = replace(FAMILIES["detr"].preprocessing, resize="letterbox", anchor=anchor)
    monkeypatch.setitem(FAMILIES, "detr", replace(FAMILIES["detr"], preprocessing=letterboxed))
    detector = Detector(detr_model(models / "detr.onnx", DETR_PLANTED))
    detections = detector.predict(np.zeros((128, 64, 3), np.uint8), KEEP_SMALL)
    assert found(detections)[0] == ("person", 0.9, person_box)


def test_detr_without_a_size_input_gives_unit_boxes_scaled_to_the_input(models) -> None:
    detector = Detector(detr_model(models / "detr_unit.onnx", DETR_PLANTED, size_input=False))
    assert detector.info.family == "detr"
    assert found(detector.predict(IMAGE, KEEP_SMALL))[0] == ("person", 0.9, [32.0, 16.0, 64.0, 48.0])


def test_detr_outputs_are_told_apart_by_name_in_any_order(models) -> None:
    path = detr_model(models / "detr_order.onnx", DETR_PLANTED, output_order=("scores", "boxes", "labels"))
    assert found(Detector(path).predict(IMAGE, KEEP_SMALL))[:1] == [("person", 0.9, [32.0, 16.0, 64.0, 48.0])]


def test_detr_query_named_twice_keeps_both_classes_and_unknown_labels_go(models) -> None:
    box = (0.25, 0.25, 0.5, 0.75)
    planted = [(0, box, 0.9), (56, box, 0.8), (80, box, 0.95), (-1, box, 0.95)]  # 80 and -1 are no COCO class
    detector = Detector(detr_model(models / "detr_twice.onnx", planted))
    assert found(detector.predict(IMAGE, KEEP_SMALL)) == [
        ("person", 0.9, [32.0, 16.0, 64.0, 48.0]),
        ("chair", 0.8, [32.0, 16.0, 64.0, 48.0]),
    ]


def test_detr_class_count_comes_from_the_names_given(models, tmp_path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("ant\nbee\ncow\n")
    detector = Detector(detr_model(models / "detr_three.onnx", [(2, (0.25, 0.25, 0.5, 0.75), 0.9)]), class_names=labels)
    assert detector.info.class_names == ("ant", "bee", "cow")
    assert detector.predict(IMAGE, KEEP_SMALL).labels() == ["cow"]


def test_detr_logits_and_pred_boxes_layout(models) -> None:
    logits = np.full((1, 12, 3), -10.0, np.float32)  # sigmoid(-10) ~ 0: nothing ...
    boxes = np.full((1, 12, 4), 0.1, np.float32)
    logits[0, 7, 1] = 0.0  # ... but query 7: class 1 at sigmoid(0) = 0.5
    boxes[0, 7] = (0.5, 0.5, 0.25, 0.5)  # cxcywh in 0..1 -> input (24, 16, 40, 48)
    detector = Detector(constant_model(models / "detr_logits.onnx", [logits, boxes]))
    assert (detector.info.family, detector.info.class_names) == ("detr", ("class_0", "class_1", "class_2"))
    assert found(detector.predict(IMAGE, KEEP_SMALL)) == [("class_1", 0.5, [48.0, 16.0, 80.0, 48.0])]


def test_detr_recipe_is_rgb_unit_range_stretched() -> None:
    from inference.families import FAMILIES
    from inference.preprocess import prepare_input

    batch, transform = prepare_input(
        np.full((32, 64, 3), (51, 102, 255), np.uint8), (64, 64), FAMILIES["detr"].preprocessing
    )
    assert batch.shape == (1, 3, 64, 64) and (transform.pad_x, transform.pad_y) == (0, 0)
    assert batch[0, :, 63, 0].tolist() == pytest.approx([0.2, 0.4, 1.0])  # no padding row: stretched


def test_an_input_besides_the_image_that_is_no_target_size_is_refused(models) -> None:
    import onnx
    from onnx import TensorProto

    model = onnx.load(detr_model(models / "detr_odd.onnx", DETR_PLANTED))
    model.graph.input[1].type.tensor_type.elem_type = TensorProto.FLOAT  # a float [N, 2]: not a target size
    onnx.save(model, models / "detr_odd.onnx")
    with pytest.raises(
        ModelError, match=r"unsupported model input: input 'orig_target_sizes' \['N', 2\] tensor\(float\)"
    ):
        Detector(models / "detr_odd.onnx")


def test_family_forced_to_detr_on_a_grid_model_is_refused(models) -> None:
    with pytest.raises(ModelError, match="do not decode as detr: DETR needs labels/boxes/scores"):
        Detector(constant_model(models / "v5.onnx", [yolov5_output([])]), family="detr")


def test_docs_describe_every_family():
    from inference.families import FAMILIES

    docs = (Path(__file__).resolve().parent.parent / "docs" / "models.md").read_text()
    assert [name for name in FAMILIES if f"| `{name}` |" not in docs] == []


@pytest.mark.parametrize(("family", "rows"), [("yolox", 277), ("yolov8", 278)])
def test_letterbox_size_is_truncated_for_yolox_and_rounded_for_ultralytics(family, rows) -> None:
    from inference.families import FAMILIES
    from inference.preprocess import prepare_input

    # 640x427 into 416: ratio 0.65, 427 x 0.65 = 277.55 rows; YOLOX's preproc truncates, Ultralytics rounds.
    batch, transform = prepare_input(np.full((427, 640, 3), 200, np.uint8), (416, 416), FAMILIES[family].preprocessing)
    image_rows = np.flatnonzero(batch[0, 0, :, 208] != batch[0, 0, -1, 208])
    assert image_rows.size == rows and transform.scale_y == pytest.approx(427 / rows)
