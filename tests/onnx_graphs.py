"""Tiny ONNX models for decoder tests: constant outputs of a known layout with planted boxes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # old enough for any recent ONNX Runtime

# cells of a 64x64 input over strides 8/16/32: 8*8 + 4*4 + 2*2
CELLS_64 = 84


def constant_model(
    path: Path,
    outputs: Sequence[np.ndarray],
    *,
    input_shape: Sequence[int | str] = (1, 3, 64, 64),
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write a model whose one image input is ignored and whose outputs are the given constants."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))
    nodes, graph_outputs = [], []
    for index, value in enumerate(outputs):
        name = f"output{index}"
        tensor = numpy_helper.from_array(np.asarray(value, dtype=np.float32), name=f"{name}_value")
        nodes.append(helper.make_node("Constant", [], [name], value=tensor))
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(np.shape(value))))
    graph = helper.make_graph(nodes, "constant_detector", [image], graph_outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def yolov5_output(
    planted: Sequence[tuple[tuple[float, float, float, float], float, int, float]],
    num_rows: int = 3 * CELLS_64,
    num_classes: int = 80,
) -> np.ndarray:
    """[1, N, 5 + C]: each planted (cxcywh in input pixels, objectness, class id, class prob) in its own row."""
    rows = np.zeros((1, num_rows, 5 + num_classes), np.float32)
    for row, (box, objectness, class_id, probability) in zip(_spread(len(planted), num_rows), planted):
        rows[0, row, 0:4] = box
        rows[0, row, 4] = objectness
        rows[0, row, 5 + class_id] = probability
    return rows


def yolov8_output(
    planted: Sequence[tuple[tuple[float, float, float, float], int, float]],
    num_columns: int = CELLS_64,
    num_classes: int = 80,
) -> np.ndarray:
    """[1, 4 + C, N]: each planted (cxcywh in input pixels, class id, score) in its own column."""
    columns = np.zeros((1, 4 + num_classes, num_columns), np.float32)
    for column, (box, class_id, score) in zip(_spread(len(planted), num_columns), planted):
        columns[0, 0:4, column] = box
        columns[0, 4 + class_id, column] = score
    return columns


def ultralytics_metadata(class_names: Sequence[str]) -> dict[str, str]:
    """The metadata an Ultralytics export writes (names as a Python dict literal)."""
    names = "{" + ", ".join(f"{i}: {name!r}" for i, name in enumerate(class_names)) + "}"
    return {"author": "Ultralytics", "task": "detect", "stride": "32", "names": names}


def _spread(count: int, total: int) -> list[int]:
    """Rows far apart (not just the first ones), so a decoder that mixes rows up shows it."""
    return [int(i) for i in np.linspace(total // 5, total - 1, count)] if count else []


def detr_model(
    path: Path,
    planted: Sequence[tuple[int, tuple[float, float, float, float], float]],
    *,
    queries: int = 10,
    size_input: bool = True,
    input_size: int = 64,
    output_order: Sequence[str] = ("labels", "boxes", "scores"),
) -> Path:
    """A post-processed DETR: each planted (label, xyxy in 0..1, score) is a query; the rest score 0.

    With `size_input`, the boxes are multiplied by the `orig_target_sizes` input [N, 2] (width, height), as
    RT-DETR / D-FINE / DEIM post-processors do; without it they come out in 0..1.
    """
    labels = np.zeros((1, queries), np.int64)
    boxes = np.tile(np.array([0.0, 0.0, 0.1, 0.1], np.float32), (1, queries, 1))
    scores = np.zeros((1, queries), np.float32)
    for query, (label, box, score) in zip(_spread(len(planted), queries), planted):
        labels[0, query], boxes[0, query], scores[0, query] = label, box, score
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, input_size, input_size])
    inputs = [image]
    nodes = [
        helper.make_node("Constant", [], ["labels"], value=numpy_helper.from_array(labels, "labels_value")),
        helper.make_node("Constant", [], ["scores"], value=numpy_helper.from_array(scores, "scores_value")),
        helper.make_node("Constant", [], ["unit_boxes"], value=numpy_helper.from_array(boxes, "boxes_value")),
    ]
    if size_input:
        inputs.append(helper.make_tensor_value_info("orig_target_sizes", TensorProto.INT64, ["N", 2]))
        nodes += [
            helper.make_node("Cast", ["orig_target_sizes"], ["sizes"], to=TensorProto.FLOAT),
            helper.make_node("Concat", ["sizes", "sizes"], ["scale"], axis=1),  # (w, h, w, h)
            helper.make_node("Unsqueeze", ["scale", "one"], ["scale3"]),
            helper.make_node(
                "Constant", [], ["one"], value=numpy_helper.from_array(np.array([1], np.int64), "one_value")
            ),
            helper.make_node("Mul", ["unit_boxes", "scale3"], ["boxes"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["unit_boxes"], ["boxes"]))
    types = {
        "labels": (TensorProto.INT64, [1, queries]),
        "boxes": (TensorProto.FLOAT, [1, queries, 4]),
        "scores": (TensorProto.FLOAT, [1, queries]),
    }
    outputs = [helper.make_tensor_value_info(name, *types[name]) for name in output_order]
    nodes.sort(key=lambda node: node.op_type != "Constant")  # constants first: nodes must be in topological order
    graph = helper.make_graph(nodes, "detr_detector", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
