"""Quantise an ONNX detector to int8 with ONNX Runtime, then compare speed and accuracy with the float model.

    .venv/bin/python tools/quantize_model.py [--model inference/models/yolox_nano.onnx]
        [--output inference/models/yolox_nano_int8.onnx] [--mode static|dynamic] [--calibration minmax|entropy|percentile]

Static mode (the default) writes QDQ int8 (per-channel int8 weights, uint8 activations), calibrated on
the labelled photos in tests/data/photos and their mirror images. The head's prediction convolutions and
everything after them (sigmoids, concat, reshape) stay float: their outputs mix box offsets and 0..1 scores
in one tensor, which a single int8 scale would blur. Accuracy is tools/evaluate_models.py's (recall and
precision at IoU 0.5, score_th 0.3) on the same photos, so the calibration set is also the test set.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import numpy as np
import onnx
import onnx.version_converter
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from evaluate_models import evaluate  # noqa: E402
from inference import Detector, PredictParams  # noqa: E402
from inference.preprocess import prepare_input  # noqa: E402

PHOTOS = ROOT / "tests" / "data" / "photos"
DEFAULT_MODEL = ROOT / "inference" / "models" / "yolox_nano.onnx"
DEFAULT_OUTPUT = ROOT / "inference" / "models" / "yolox_nano_int8.onnx"
MIN_OPSET = 13
CALIBRATION = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}


class PhotoReader(CalibrationDataReader):
    """Model inputs made by the Detector's own pre-processing from each photo and its mirror image."""

    def __init__(self, detector: Detector) -> None:
        input_name = detector.session.get_inputs()[0].name
        self._feeds: deque[dict[str, np.ndarray]] = deque()
        for path in sorted(PHOTOS.iterdir()):
            image = detector.decode(path.read_bytes())
            for pixels in (image.pixels, np.ascontiguousarray(image.pixels[:, ::-1])):
                tensor, _ = prepare_input(pixels, detector._input_hw, detector._recipe)
                self._feeds.append({input_name: tensor})

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


def quantize(model: Path, output: Path, mode: str, calibration: str) -> list[str]:
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
        kept_float = head_and_tail_nodes(onnx.load(str(prepared)))
        if mode == "dynamic":
            quantize_dynamic(prepared, output, weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=kept_float)
        else:
            reader = PhotoReader(Detector(model, intra_op_threads=2))
            quantize_static(
                prepared, output, reader, quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=kept_float,
                calibrate_method=CALIBRATION[calibration],
            )
    return kept_float


def run_median_ms(detector: Detector, iterations: int) -> float:
    """Median milliseconds of the raw session.run on a fixed input."""
    session = detector.session
    feed = {session.get_inputs()[0].name: PhotoReader(detector).get_next()[session.get_inputs()[0].name]}
    names = [o.name for o in session.get_outputs()]
    for _ in range(10):
        session.run(names, feed)
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        session.run(names, feed)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def compare(models: list[Path], iterations: int) -> None:
    """Print size, accuracy and speed per model."""
    print(f"{'model':26} {'MB':>5} {'recall':>6} {'prec.':>6} {'TP':>3} {'FP':>3} {'miss':>4} "
          f"{'run ms 1 thr':>12} {'run ms 2 thr':>12} {'end to end ms':>13}")
    for path in models:
        by_threads = {threads: Detector(path, intra_op_threads=threads) for threads in (1, 2)}
        score = evaluate(by_threads[2], PredictParams(score_th=0.3))
        run_ms = {threads: run_median_ms(detector, iterations) for threads, detector in by_threads.items()}
        print(f"{path.name:26} {path.stat().st_size / 1e6:5.2f} {score.recall:6.3f} {score.precision:6.3f} "
              f"{score.true_positives:3} {score.false_positives:3} {score.misses:4} "
              f"{run_ms[1]:12.2f} {run_ms[2]:12.2f} {score.median_ms:13.2f}")


def main() -> None:
    """Quantise, then compare the float and int8 models."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--mode", choices=["static", "dynamic"], default="static")
    parser.add_argument("--calibration", choices=sorted(CALIBRATION), default="minmax")
    parser.add_argument("--iterations", type=int, default=200, help="session.run calls per speed measurement")
    parser.add_argument("--compare-only", action="store_true", help="skip quantising; compare existing files")
    args = parser.parse_args()
    if not args.compare_only:
        kept = quantize(args.model, args.output, args.mode, args.calibration)
        print(f"wrote {args.output} ({args.mode}, {args.calibration}); {len(kept)} head/tail nodes kept float")
    compare([args.model, args.output], args.iterations)


if __name__ == "__main__":
    main()
