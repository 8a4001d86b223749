"""Detector on real weights: YOLOX-Nano and DEIMv2-Femto on labelled photos, EXIF orientation, reduced decodes, threads."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import DATA
from PIL import Image

from inference import DecodedImage, Detections, Detector, decode_image
from inference.catalog import EMBEDDED_MODELS, embedded_model


def box_iou(a, b) -> float:
    """Intersection over union of two xyxy boxes."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def best_match(detections: Detections, label: str, box) -> tuple[float, float]:
    """(IoU, score) of the detection of `label` that overlaps `box` most; (0, 0) if none."""
    candidates = [
        (box_iou(found, box), float(score))
        for found, score, name in zip(detections.xyxy.tolist(), detections.confidence, detections.labels())
        if name == label
    ]
    return max(candidates, default=(0.0, 0.0))


def truth_of(ground_truth: dict, file: str) -> dict:
    """The ground-truth entry of a photo."""
    return next(image for image in ground_truth["images"] if image["file"] == file)


@pytest.fixture(scope="module")
def yolox() -> Detector:
    """The embedded YOLOX-Nano."""
    return embedded_model("yolox_nano").load()


@pytest.fixture(scope="module")
def deimv2() -> Detector:
    """The embedded DEIMv2-Femto (DETR family)."""
    return embedded_model("deimv2_femto").load()


@pytest.mark.parametrize(
    ("file", "label", "score"),
    [("photos/astronaut.jpg", "person", 0.93), ("photos/chelsea.png", "cat", 0.62), ("photos/coffee.jpg", "cup", 0.90)],
)
def test_yolox_finds_the_labelled_object(yolox, ground_truth, file, label, score) -> None:
    detections = yolox.predict_bytes((DATA / file).read_bytes())
    truth = next(obj for obj in truth_of(ground_truth, file)["objects"] if obj["label"] == label)
    iou, found_score = best_match(detections, label, truth["box"])
    assert iou > 0.8
    assert found_score == pytest.approx(score, abs=0.02)
    assert detections.labels()[0] == label  # the best detection of the image


@pytest.mark.parametrize(
    ("file", "label", "score"),
    [("photos/astronaut.jpg", "person", 0.89), ("photos/chelsea.png", "cat", 0.87), ("photos/coffee.jpg", "cup", 0.87)],
)
def test_deimv2_finds_the_labelled_object(deimv2, ground_truth, file, label, score) -> None:
    detections = deimv2.predict_bytes((DATA / file).read_bytes())
    truth = next(obj for obj in truth_of(ground_truth, file)["objects"] if obj["label"] == label)
    iou, found_score = best_match(detections, label, truth["box"])
    assert iou > 0.8
    assert found_score == pytest.approx(score, abs=0.02)
    assert detections.labels()[0] == label


@pytest.mark.parametrize(
    ("name", "family", "sha256"),
    [
        ("yolox_nano", "yolox", "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14"),
        ("deimv2_femto", "detr", "c6ad358f750132b891165e034c2ba507abefc5ebe1c1d2732a0acbcacc47e52c"),
    ],
)
def test_embedded_model_info(name, family, sha256) -> None:
    model = embedded_model(name)
    info = model.load().info
    assert (info.name, info.family, info.input_size, info.input_layout) == (name, family, (416, 416), "nchw")
    assert info.sha256 == model.sha256 == sha256  # the files copied from the shared reference folder, unchanged
    assert (info.licence, len(info.class_names)) == ("Apache-2.0", 80)
    assert "Apache License" in (model.path.parent / model.licence_file).read_text()


@pytest.mark.parametrize("model", EMBEDDED_MODELS, ids=lambda model: model.name)
def test_embedded_family_is_detected_without_being_named(model) -> None:
    assert Detector(model.path).info.family == model.family


def test_predict_takes_an_array_or_a_decoded_image_alike(detector, photo_bytes) -> None:
    decoded = decode_image(photo_bytes("coffee.jpg"))
    from_array = detector.predict(decoded.pixels)
    from_decoded = detector.predict(decoded)
    assert from_array.labels() == from_decoded.labels() and len(from_array) > 0
    np.testing.assert_array_equal(from_array.xyxy, from_decoded.xyxy)
    assert set(from_decoded.timings_ms) == {"preprocess", "inference", "decode_outputs", "select"}
    assert "decode" in detector.predict_bytes(photo_bytes("coffee.jpg")).timings_ms


def test_exif_rotated_photo_gives_the_upright_person_box(detector, ground_truth) -> None:
    truth = ground_truth["exif_rotated"]
    detections = detector.predict_bytes((DATA / truth["file"]).read_bytes())
    assert detections.image_size == (truth["upright_width"], truth["upright_height"])
    person = next(obj for obj in truth["objects"] if obj["label"] == "person")
    assert best_match(detections, "person", person["box"])[0] > 0.9


# EXIF orientation -> the Pillow transpose that stores an upright picture so that the tag turns it back.
STORED_FOR_ORIENTATION = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", sorted(STORED_FOR_ORIENTATION))
def test_exif_orientations_give_boxes_on_the_upright_image(detector, ground_truth, orientation) -> None:
    upright = Image.open(DATA / "photos" / "coffee.jpg")  # 600x400: boxes on the stored image would not fit
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = io.BytesIO()
    upright.transpose(STORED_FOR_ORIENTATION[orientation]).save(stored, "JPEG", quality=95, exif=exif)
    detections = detector.predict_bytes(stored.getvalue())
    assert detections.image_size == (600, 400)
    cup = next(obj for obj in truth_of(ground_truth, "photos/coffee.jpg")["objects"] if obj["label"] == "cup")
    assert best_match(detections, "cup", cup["box"])[0] > 0.8


@pytest.mark.parametrize("model", ["yolox", "deimv2"])  # letterbox and stretch recipes
def test_reduced_jpeg_decode_reports_boxes_in_original_pixels(request, model, ground_truth) -> None:
    # The astronaut at 4x: the detector decodes it at 1/4 and must still answer in 2048x2048 pixels.
    detector = request.getfixturevalue(model)
    big = io.BytesIO()
    Image.open(DATA / "photos" / "astronaut.jpg").resize((2048, 2048), Image.Resampling.BILINEAR).save(big, "JPEG")
    assert detector.decode(big.getvalue()).size == (512, 512)
    detections = detector.predict_bytes(big.getvalue())
    assert detections.image_size == (2048, 2048)
    person = next(obj for obj in truth_of(ground_truth, "photos/astronaut.jpg")["objects"] if obj["label"] == "person")
    assert best_match(detections, "person", [4 * v for v in person["box"]])[0] > 0.85


def test_reduced_decode_and_full_decode_agree(detector) -> None:
    big = io.BytesIO()
    upscaled = Image.open(DATA / "photos" / "coffee.jpg").resize((1800, 1200), Image.Resampling.BILINEAR)
    upscaled.save(big, "JPEG", quality=95)
    reduced = detector.predict_bytes(big.getvalue())  # decoded at 900x600
    full = detector.predict(decode_image(big.getvalue()))
    assert reduced.labels()[:2] == full.labels()[:2]
    assert box_iou(reduced.xyxy[0].tolist(), full.xyxy[0].tolist()) > 0.95


PHOTOS = [
    "astronaut.jpg",
    "camera.png",
    "chelsea.png",
    "coffee.jpg",
    "motorcycle_left.jpg",
    "grace_hopper.jpg",
    "clock_motion.png",
    "retina.jpg",
]


@pytest.mark.slow  # many threads over both models: a stress run
@pytest.mark.parametrize("model", ["yolox", "deimv2"])
def test_threads_get_the_same_results_as_sequential_calls(request, model, photo_bytes) -> None:
    detector = request.getfixturevalue(model)
    images: dict[str, DecodedImage] = {name: detector.decode(photo_bytes(name)) for name in PHOTOS}
    expected = {name: detector.predict(image) for name, image in images.items()}
    # Thread t predicts 5 different photos, starting at its own, so every moment mixes images.
    jobs = [PHOTOS[(thread + step) % len(PHOTOS)] for thread in range(8) for step in range(5)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda name: (name, detector.predict(images[name])), jobs))
    assert len(results) == 40
    for name, detections in results:
        assert detections.labels() == expected[name].labels(), name
        np.testing.assert_allclose(detections.xyxy, expected[name].xyxy, atol=1e-3, err_msg=name)
        np.testing.assert_allclose(detections.confidence, expected[name].confidence, atol=1e-5, err_msg=name)
    assert sum(len(expected[name]) for name in PHOTOS) >= len(PHOTOS)  # the comparison is not of empty results
