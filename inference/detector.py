"""Detector: loads an ONNX detector once and predicts on images; safe to share between threads."""

from __future__ import annotations

import ast
import functools
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .candidates import Candidates
from .detections import Detections
from .errors import ModelError, ParameterError
from .families import FAMILIES, Family, detect_family
from .families.detr import target_size_feeds
from .image_decoding import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE, DecodedImage, decode_image
from .labels import class_key, class_lookup, coco_class_names, read_labels_file
from .params import PredictParams
from .postprocess import select_detections
from .preprocess import prepare_input

DEFAULT_DYNAMIC_INPUT = 640  # used when the model's input size is symbolic and none is configured


@dataclass(frozen=True)
class ModelInfo:
    """What was loaded, for /api/model and the page."""

    name: str
    family: str
    family_description: str
    input_size: tuple[int, int]  # (width, height)
    input_layout: str
    class_names: tuple[str, ...]
    source: str
    licence: str
    sha256: str
    providers: tuple[str, ...]
    warm_up_ms: float = 0.0  # the first run on a blank image, at start-up


class Detector:
    """An ONNX detector of a supported family; `predict` may be called from several threads at once."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        family: str | None = None,
        class_names: Sequence[str] | str | Path | None = None,
        input_size: int | None = None,
        intra_op_threads: int = 0,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        source: str = "",
        licence: str = "",
        name: str | None = None,
    ) -> None:
        path = Path(model_path)
        try:
            model_bytes = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read the model file {path}: {exc.strerror or exc}") from None
        self._session = _create_session(model_bytes, intra_op_threads, providers)
        self._input_name, self._input_hw, layout, self._extra_feeds = _describe_inputs(self._session, input_size)
        self._output_names = [output.name for output in self._session.get_outputs()]
        metadata = self._session.get_modelmeta().custom_metadata_map

        # One real run on a blank image: warms up the session and shows the true output shapes.
        warm_up = np.zeros((1, 3, *self._input_hw) if layout == "nchw" else (1, *self._input_hw, 3), np.float32)
        warm_up_started = time.perf_counter()
        outputs = self._run(warm_up)
        warm_up_ms = (time.perf_counter() - warm_up_started) * 1000
        shapes = [o.shape for o in outputs]
        family_name = family or detect_family(shapes, metadata, self._input_hw, self._output_names)
        if family_name not in FAMILIES:
            raise ModelError(f"unknown model family {family_name!r}; supported: {', '.join(FAMILIES)}")
        self._family: Family = FAMILIES[family_name]
        self._recipe = replace(self._family.preprocessing, layout=layout)
        given_names = _given_class_names(class_names, metadata)
        try:
            self._decode = self._family.decoder(len(given_names) if given_names is not None else None)
            num_classes = self._decode(outputs, self._output_names, self._input_hw)[1].shape[1]
        except (IndexError, ValueError) as exc:
            raise ModelError(f"the model's outputs do not decode as {family_name}: {exc}") from None
        if family is not None:
            _check_named_family(family, shapes, metadata, self._input_hw, self._output_names, num_classes)
        names = _class_names(given_names, num_classes)
        self.info = ModelInfo(
            name=name or path.stem,
            family=family_name,
            family_description=self._family.description,
            input_size=(self._input_hw[1], self._input_hw[0]),
            input_layout=layout,
            class_names=names,
            source=source or str(path),
            licence=licence or "unknown",
            sha256=hashlib.sha256(model_bytes).hexdigest(),
            providers=tuple(self._session.get_providers()),
            warm_up_ms=round(warm_up_ms, 1),
        )
        self._class_lookup = class_lookup(names)
        # A batch's images usually share one class filter: resolved once, not once per image.
        self._resolve_classes = functools.lru_cache(maxsize=32)(self._class_ids)

    @property
    def session(self) -> ort.InferenceSession:
        """The ONNX Runtime session (benchmarks compare against its raw `run`)."""
        return self._session

    def class_ids_for(self, classes: Sequence[str | int]) -> list[int]:
        """Class names (any case and spacing, COCO or darknet spelling) or ids -> ids; unknown ones are an error.

        One dict lookup per name (the table is built at load): the cost grows with the names asked for, not with
        names x the model's classes; a list asked for again (the next image of a batch) is not looked up again."""
        return list(self._resolve_classes(tuple(classes)))

    def _class_ids(self, classes: tuple[str | int, ...]) -> tuple[int, ...]:
        """class_ids_for, uncached."""
        ids = set()
        count = len(self.info.class_names)
        for item in classes:
            found = self._class_lookup.get(class_key(item)) if isinstance(item, str) else None
            if isinstance(item, int) and 0 <= item < count:
                ids.add(item)
            elif found is not None:
                ids.add(found)
            else:
                raise ParameterError(f"unknown class {item!r}; the model knows {count} classes, see /api/model")
        return tuple(sorted(ids))

    def decode(
        self, data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int = DEFAULT_MAX_SIDE
    ) -> DecodedImage:
        """Decode image bytes, skipping JPEG detail finer than this model's resize keeps."""
        return decode_image(
            data,
            max_pixels=max_pixels,
            max_side=max_side,
            target_size=self.info.input_size,
            keep_aspect=self._recipe.resize == "letterbox",
        )

    def candidates_from_bytes(
        self, data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int = DEFAULT_MAX_SIDE
    ) -> Candidates:
        """Decode + `candidates`; `timings_ms` includes the decode time."""
        started = time.perf_counter()
        image = self.decode(data, max_pixels=max_pixels, max_side=max_side)
        decode_ms = (time.perf_counter() - started) * 1000
        found = self.candidates(image)
        found.timings_ms["decode"] = round(decode_ms, 2)
        return found

    def candidates(self, image: DecodedImage | np.ndarray) -> Candidates:
        """The expensive half: every (box, class, score) the model finds in an upright RGB image."""
        if isinstance(image, np.ndarray):
            image = DecodedImage(pixels=image, original_size=(image.shape[1], image.shape[0]))
        t0 = time.perf_counter()
        tensor, transform = prepare_input(image.pixels, self._input_hw, self._recipe, image.original_size)
        t1 = time.perf_counter()
        outputs = self._run(tensor)
        t2 = time.perf_counter()
        boxes, class_scores = self._decode(outputs, self._output_names, self._input_hw)
        found = Candidates.from_class_scores(boxes, class_scores, image.original_size, transform.to_image)
        found.timings_ms.update(
            preprocess=round((t1 - t0) * 1000, 2),
            inference=round((t2 - t1) * 1000, 2),
            decode_outputs=round((time.perf_counter() - t2) * 1000, 2),
        )
        return found

    def select(self, candidates: Candidates, params: PredictParams | None = None) -> Detections:
        """The cheap half: score threshold, class filter, min size, class-aware NMS, max results."""
        params = params or PredictParams()
        started = time.perf_counter()
        allowed_ids = self.class_ids_for(params.classes) if params.classes else None
        boxes, scores, class_ids = candidates.best_per_box(params.score_th, allowed_ids)
        chosen = select_detections(boxes, scores, class_ids, candidates.image_size, params)
        timings = {**candidates.timings_ms, "select": round((time.perf_counter() - started) * 1000, 2)}
        return Detections(
            boxes[chosen], scores[chosen], class_ids[chosen], self.info.class_names, candidates.image_size, timings
        )

    def predict_bytes(
        self,
        data: bytes,
        params: PredictParams | None = None,
        *,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_side: int = DEFAULT_MAX_SIDE,
    ) -> Detections:
        """Decode + predict; `timings_ms` includes the decode time."""
        return self.select(self.candidates_from_bytes(data, max_pixels=max_pixels, max_side=max_side), params)

    def predict(self, image: DecodedImage | np.ndarray, params: PredictParams | None = None) -> Detections:
        """Detect objects in an upright RGB image (DecodedImage or (h, w, 3) uint8 array)."""
        return self.select(self.candidates(image), params)

    def _run(self, tensor: np.ndarray) -> list[np.ndarray]:
        """One session run; ONNX Runtime's `run` is thread-safe."""
        try:
            return self._session.run(self._output_names, {self._input_name: tensor, **self._extra_feeds})
        except (ort.capi.onnxruntime_pybind11_state.Fail, ort.capi.onnxruntime_pybind11_state.InvalidArgument) as exc:
            raise ModelError(f"the model failed to run: {exc}") from None


_YOLO_LAYOUTS = {"yolox", "yolov5", "yolov8"}  # one [1, a, b] output: the shapes alone cannot always tell them apart


def _check_named_family(
    family: str, shapes: list, metadata: dict, input_hw: tuple[int, int], names: list[str], num_classes: int
) -> None:
    """Refuse a named family that the outputs contradict: a transposed layout, or another kind of head."""
    try:
        detected = detect_family(shapes, metadata, input_hw, names)
    except ModelError:
        detected = None  # the outputs fit no family by their shapes: trust the configuration
    shown = [tuple(shape) for shape in shapes]
    # One [1, a, b] output holds boxes x (classes + 4 box values, + objectness but for YOLOv8).
    boxes = int(np.prod(shapes[0])) // (num_classes + (4 if family == "yolov8" else 5)) if len(shapes) == 1 else 0
    if family in _YOLO_LAYOUTS and num_classes > boxes:  # e.g. yolov8 read on YOLOX's [1, 3549, 85]: 3545 classes
        raise ModelError(
            f"the family is set to {family!r} but its outputs {shown} then give {num_classes} classes for {boxes} boxes"
            + (f"; they look like {detected!r}" if detected else "")
        )
    if detected is not None and detected != family and not {detected, family} <= _YOLO_LAYOUTS:
        raise ModelError(f"the family is set to {family!r} but the outputs {shown} are those of {detected!r}")


def _create_session(model_bytes: bytes, intra_op_threads: int, providers: Sequence[str]) -> ort.InferenceSession:
    """Session with full graph optimisation; threads=0 lets ONNX Runtime use every core."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    available = set(ort.get_available_providers())
    chosen = [p for p in providers if p in available] or ["CPUExecutionProvider"]
    try:
        return ort.InferenceSession(model_bytes, sess_options=options, providers=chosen)
    except Exception as exc:  # noqa: BLE001 (ONNX Runtime raises several private types for a bad file)
        raise ModelError(f"not a loadable ONNX model: {str(exc).splitlines()[0][:300]}") from None


def _describe_inputs(
    session: ort.InferenceSession, input_size: int | None
) -> tuple[str, tuple[int, int], str, dict[str, np.ndarray]]:
    """(image input name, (height, width), layout, constant feeds of the other inputs) from the session.

    Symbolic sizes are filled from config; the only other input allowed is a DETR target size.
    """
    inputs = session.get_inputs()
    images = [i for i in inputs if len(i.shape) == 4]
    if len(images) != 1:
        shapes = [(i.name, i.shape) for i in inputs]
        raise ModelError(f"expected one image input of rank 4, got {shapes}")
    shape = images[0].shape
    layout = "nhwc" if shape[3] == 3 and shape[1] != 3 else "nchw"
    dims = shape[1:3] if layout == "nhwc" else shape[2:4]
    fallback = input_size or DEFAULT_DYNAMIC_INPUT
    height, width = (d if isinstance(d, int) and d > 0 else fallback for d in dims)
    others = [(i.name, i.shape, i.type) for i in inputs if i is not images[0]]
    try:
        feeds = target_size_feeds(others, (height, width))
    except ValueError as exc:
        raise ModelError(f"unsupported model input: {exc}") from None
    return images[0].name, (height, width), layout, feeds


def _given_class_names(given: Sequence[str] | str | Path | None, metadata: dict[str, str]) -> tuple[str, ...] | None:
    """Given list or labels file > model metadata (Ultralytics `names`) > None."""
    if isinstance(given, (str, Path)):
        return read_labels_file(given)
    if given is not None:
        return tuple(given)
    if "names" in metadata:
        try:
            parsed = ast.literal_eval(metadata["names"])  # "{0: 'person', ...}": a literal, never code
            return tuple(parsed[i] for i in sorted(parsed)) if isinstance(parsed, dict) else tuple(parsed)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            raise ModelError(f"the model's metadata 'names' is not a list or dict of class names ({exc})") from None
    return None


def _class_names(given: tuple[str, ...] | None, num_classes: int) -> tuple[str, ...]:
    """The given names (checked against the model's class count) > COCO-80 > class_<i>."""
    if given is not None:
        names = given
    elif num_classes == 80:
        names = coco_class_names()
    else:
        names = tuple(f"class_{i}" for i in range(num_classes))
    if len(names) != num_classes:
        raise ModelError(f"the model predicts {num_classes} classes but {len(names)} class names were given")
    return names
