"""Pre-processing: letterbox / stretch, channel order, normalisation, layout, and the way back for boxes."""

from __future__ import annotations

import numpy as np
import pytest

from inference.families import FAMILIES
from inference.preprocess import BoxTransform, Preprocessing, letterbox, prepare_input

RGB = (10, 20, 30)


def solid(width: int, height: int, colour: tuple[int, int, int] = RGB) -> np.ndarray:
    """A one-colour RGB image."""
    return np.full((height, width, 3), colour, np.uint8)


def test_letterbox_top_left_puts_padding_below() -> None:
    canvas, ratio_x, ratio_y, pad_x, pad_y = letterbox(solid(100, 50), (64, 64), "top-left", 114)
    assert canvas.shape == (64, 64, 3)
    assert (ratio_x, ratio_y, pad_x, pad_y) == (64 / 100, 32 / 50, 0.0, 0.0)
    assert (canvas[:32] == RGB).all() and (canvas[32:] == 114).all()


def test_letterbox_center_splits_padding() -> None:
    canvas, _, _, pad_x, pad_y = letterbox(solid(100, 50), (64, 64), "center", 0)
    assert (pad_x, pad_y) == (0.0, 16.0)
    assert (canvas[:16] == 0).all() and (canvas[16:48] == RGB).all() and (canvas[48:] == 0).all()


def test_letterbox_center_of_a_tall_image_pads_left_and_right() -> None:
    canvas, ratio_x, ratio_y, pad_x, pad_y = letterbox(solid(30, 60), (64, 64), "center", 114)
    assert (ratio_x, ratio_y, pad_x, pad_y) == (32 / 30, 64 / 60, 16.0, 0.0)
    assert (canvas[:, :16] == 114).all() and (canvas[:, 16:48] == RGB).all() and (canvas[:, 48:] == 114).all()


def test_letterbox_ratios_are_the_real_ones_after_rounding() -> None:
    _, ratio_x, ratio_y, _, pad_y = letterbox(solid(1000, 3), (64, 64), "center", 114)
    assert (ratio_x, ratio_y) == (64 / 1000, 1 / 3)  # 3 rows scaled by 0.064 still keep one row
    assert pad_y == 31.0


def test_stretch_fills_the_input_without_padding() -> None:
    image = solid(100, 50)
    tensor, transform = prepare_input(image, (64, 32), Preprocessing(resize="stretch"))
    assert tensor.shape == (1, 3, 64, 32)
    assert (tensor == np.array(RGB, np.float32)[None, :, None, None]).all()
    assert (transform.pad_x, transform.pad_y, transform.scale_x, transform.scale_y) == (0.0, 0.0, 100 / 32, 50 / 64)


@pytest.mark.parametrize(("order", "first_channel"), [("rgb", 10), ("bgr", 30)])
def test_channel_order(order, first_channel) -> None:
    tensor, _ = prepare_input(solid(8, 8), (8, 8), Preprocessing(channel_order=order))
    assert tensor[0, :, 0, 0].tolist() == ([10, 20, 30] if order == "rgb" else [30, 20, 10])
    assert tensor[0, 0, 0, 0] == first_channel


def test_scale_mean_and_std_apply_in_that_order() -> None:
    recipe = Preprocessing(scale=1 / 255, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    tensor, _ = prepare_input(solid(4, 4, (255, 0, 51)), (4, 4), recipe)
    expected = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0.2 - 0.406) / 0.225]
    np.testing.assert_allclose(tensor[0, :, 0, 0], expected, rtol=1e-5)
    assert tensor.dtype == np.float32


@pytest.mark.parametrize(("layout", "shape"), [("nchw", (1, 3, 16, 24)), ("nhwc", (1, 16, 24, 3))])
def test_layouts(layout, shape) -> None:
    tensor, _ = prepare_input(solid(24, 16), (16, 24), Preprocessing(layout=layout))
    assert tensor.shape == shape
    assert tensor.flags.c_contiguous
    assert (tensor.reshape(-1, 3) == RGB).all() if layout == "nhwc" else (tensor[0, 2] == 30).all()


def test_ultralytics_recipe_is_centred_rgb_over_255_with_grey_padding() -> None:
    tensor, transform = prepare_input(solid(128, 64), (64, 64), FAMILIES["yolov8"].preprocessing)
    np.testing.assert_allclose(tensor[0, :, 0, 0], [114 / 255] * 3, rtol=1e-6)  # top padding
    np.testing.assert_allclose(tensor[0, :, 32, 32], [10 / 255, 20 / 255, 30 / 255], rtol=1e-6)
    assert (transform.pad_x, transform.pad_y, transform.scale_x, transform.scale_y) == (0.0, 16.0, 2.0, 2.0)


def test_yolox_recipe_is_top_left_bgr_raw_values() -> None:
    tensor, transform = prepare_input(solid(128, 64), (64, 64), FAMILIES["yolox"].preprocessing)
    assert tensor[0, :, 0, 0].tolist() == [30, 20, 10]
    assert tensor[0, :, 63, 63].tolist() == [114, 114, 114]
    assert (transform.pad_x, transform.pad_y) == (0.0, 0.0)


def forward(boxes: np.ndarray, transform: BoxTransform) -> np.ndarray:
    """Image pixels -> model-input pixels, the inverse of to_image (for round trips)."""
    out = boxes.astype(np.float64).copy()
    out[:, 0::2] = out[:, 0::2] / transform.scale_x + transform.pad_x
    out[:, 1::2] = out[:, 1::2] / transform.scale_y + transform.pad_y
    return out


def test_to_image_maps_known_boxes_back_number_by_number() -> None:
    _, transform = prepare_input(solid(200, 100), (64, 64), Preprocessing(anchor="center"))  # ratio 0.32, pad_y 16
    boxes = np.array([[8, 16, 40, 48], [0, 32, 64, 40]], np.float32)
    np.testing.assert_allclose(transform.to_image(boxes), [[25, 0, 125, 100], [0, 50, 200, 75]], atol=1e-4)


def test_to_image_clips_to_the_image() -> None:
    _, transform = prepare_input(solid(200, 100), (64, 64), Preprocessing(anchor="center"))
    clipped = transform.to_image(np.array([[-4, 10, 70, 60], [60, 0, 90, 15]], np.float32))
    np.testing.assert_allclose(clipped, [[0, 0, 200, 100], [187.5, 0, 200, 0]], atol=1e-4)
    assert clipped.dtype == np.float32


@pytest.mark.parametrize("anchor", ["top-left", "center"])
@pytest.mark.parametrize(("width", "height"), [(640, 427), (300, 451), (37, 1000)])
def test_to_image_inverts_the_letterbox(anchor, width, height) -> None:
    _, transform = prepare_input(solid(width, height), (416, 416), Preprocessing(anchor=anchor))
    boxes = np.random.default_rng(3).uniform(0, 1, (20, 4)) * [width, height, width, height]
    boxes = np.sort(boxes.reshape(20, 2, 2), axis=1).reshape(20, 4)  # x1 <= x2, y1 <= y2
    np.testing.assert_allclose(transform.to_image(forward(boxes, transform)), boxes, atol=1e-3, rtol=1e-5)


def test_to_image_reports_original_pixels_after_a_reduced_decode() -> None:
    # Pixels decoded at 1/4 scale (512x384) of a 2048x1536 JPEG: boxes must come back in 2048x1536 pixels.
    recipe = Preprocessing(anchor="center")
    _, transform = prepare_input(solid(512, 384), (416, 416), recipe, original_size=(2048, 1536))
    assert (transform.image_width, transform.image_height) == (2048, 1536)
    assert transform.pad_y == 52.0  # 416 x 312 image in a 416 x 416 input
    corners = transform.to_image(np.array([[0, 52, 416, 364], [104, 130, 208, 208]], np.float32))
    np.testing.assert_allclose(corners, [[0, 0, 2048, 1536], [512, 384, 1024, 768]], atol=1e-3)


def test_to_image_of_no_boxes_is_empty() -> None:
    _, transform = prepare_input(solid(10, 10), (8, 8), Preprocessing())
    assert transform.to_image(np.zeros((0, 4), np.float32)).shape == (0, 4)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_bgr_and_normalisation_agree_in_both_layouts(layout) -> None:
    recipe = Preprocessing(
        channel_order="bgr", scale=1 / 255, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 0.125), layout=layout
    )
    tensor, _ = prepare_input(solid(6, 4, (255, 51, 0)), (4, 6), recipe)
    per_pixel = tensor[0, :, 1, 2] if layout == "nchw" else tensor[0, 1, 2, :]
    np.testing.assert_allclose(per_pixel, [(0 - 0.1) / 0.5, (0.2 - 0.2) / 0.25, (1 - 0.3) / 0.125], atol=1e-6)
