"""Quantise an ONNX detector to int8 (ONNX Runtime, static QDQ), then compare its COCO AP and speed with the float model.

    .venv/bin/python -m tools.quantize_model --output /tmp/yolox_nano_int8.onnx
        [--model inference/models/yolox_nano.onnx] [--calibration minmax|entropy|percentile] [--keep-float N]

Per-channel int8 weights, uint8 activations, calibrated on the coco-dev images (tests/data/coco-dev) through
the Detector's own pre-processing. The head's prediction convolutions and everything after them stay float
(their outputs mix box offsets and 0..1 scores in one tensor, which one int8 scale would blur); `--keep-float N`
also keeps the first N convolutions float. AP is tools/evaluate_coco.py's on the same images, so the
calibration set is also the test set: the figure is optimistic.

No int8 model ships: the best configuration measured (MODEL_CARD.md) stayed far more than 1.5 AP below float.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import deque
from pathlib import Path

import numpy as np
import onnx
import onnx.version_converter
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

ROOT = Path(__file__).resolve().parent.parent
from inference import Detector
from inference.preprocess import prepare_input
from tools.evaluate_coco import COCO_DEV, evaluate

DEFAULT_MODEL = ROOT / "inference" / "models" / "yolox_nano.onnx"
MIN_OPSET = 13
CALIBRATION = {
    "minmax": CalibrationMethod.MinMax,
    "entropy": CalibrationMethod.Entropy,
    "percentile": CalibrationMethod.Percentile,
}


class ImageReader(CalibrationDataReader):
    """Model inputs made by the Detector's own pre-processing from each image of a folder."""

    def __init__(self, detector: Detector, images: Path) -> None:
        self._feeds: deque[dict[str, np.ndarray]] = deque()
        for path in sorted(images.iterdir()):
            image = detector.decode(path.read_bytes())
            tensor, _ = prepare_input(image.pixels, detector._input_hw, detector._recipe)
            self._feeds.append({detector._input_name: tensor, **detector._extra_feeds})

    def get_next(self) -> dict[str, np.ndarray] | None:
        """The next calibration input, or None when done."""
        return self._feeds.popleft() if self._feeds else None


def head_and_tail_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes between the last convolutions and the outputs, those convolutions included."""
    producers = {output: node for node in model.graph.node for output in node.output}
    tail: dict[str, onnx.NodeProto] = {}
    pending = [producers[o.name] for o in model.graph.output if o.name in producers]
    while pending:
        node = pending.pop()
        if node.name in tail:
            continue
        tail[node.name] = node
        if node.op_type != "Conv":
            pending += [producers[name] for name in node.input if name in producers]
    return sorted(tail)


def _opset(model: onnx.ModelProto) -> int:
    """The default-domain opset version."""
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def quantize(model: Path, output: Path, calibration: str, keep_float: int) -> list[str]:
    """Write the int8 model; returns the names of the nodes kept in float."""
    with tempfile.TemporaryDirectory() as folder:
        upgraded, prepared = Path(folder) / "opset13.onnx", Path(folder) / "prepared.onnx"
        # Per-channel QuantizeLinear/DequantizeLinear (the `axis` attribute) needs opset 13.
        original = onnx.load(str(model))
        if _opset(original) < MIN_OPSET:
            original = onnx.version_converter.convert_version(original, MIN_OPSET)
        onnx.save(original, str(upgraded))
        # ONNX shape inference + graph clean-up, as ORT recommends (static shapes: no sympy needed).
        quant_pre_process(str(upgraded), str(prepared), skip_symbolic_shape=True)
        graph = onnx.load(str(prepared))
        first_convs = [node.name for node in graph.graph.node if node.op_type == "Conv"][:keep_float]
        kept_float = sorted({*head_and_tail_nodes(graph), *first_convs})
        reader = ImageReader(Detector(model, intra_op_threads=2), COCO_DEV / "images")
        quantize_static(
            prepared,
            output,
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=kept_float,
            calibrate_method=CALIBRATION[calibration],
        )
    return kept_float


def run_median_ms(detector: Detector, iterations: int) -> float:
    """Median milliseconds of the raw session.run on a fixed input."""
    feed = ImageReader(detector, COCO_DEV / "images").get_next()
    names = [o.name for o in detector.session.get_outputs()]
    for _ in range(10):
        detector.session.run(names, feed)
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        detector.session.run(names, feed)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def compare(models: list[Path], iterations: int) -> None:
    """Print size, COCO AP on coco-dev and speed (1 intra-op thread) per model."""
    print(f"{'model':26} {'MB':>5} {'AP':>5} {'AP50':>5} {'AP75':>5} {'AR100':>5} {'run ms':>7} {'end to end ms':>13}")
    for path in models:
        detector = Detector(path, intra_op_threads=1)
        score = evaluate(detector)
        print(
            f"{path.name:26} {path.stat().st_size / 1e6:5.2f} {score.ap:5.1f} {score.ap50:5.1f} {score.ap75:5.1f} "
            f"{score.ar100:5.1f} {run_median_ms(detector, iterations):7.2f} {score.median_ms:13.2f}"
        )


def main() -> None:
    """Quantise, then compare the float and int8 models."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--calibration", choices=sorted(CALIBRATION), default="percentile")
    parser.add_argument("--keep-float", type=int, default=0, help="also keep the first N convolutions float")
    parser.add_argument("--iterations", type=int, default=100, help="session.run calls per speed measurement")
    args = parser.parse_args()
    kept = quantize(args.model, args.output, args.calibration, args.keep_float)
    print(f"wrote {args.output} ({args.calibration}); {len(kept)} nodes kept float")
    compare([args.model, args.output], args.iterations)


if __name__ == "__main__":
    main()
