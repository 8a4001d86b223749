"""Framework-free object detection: decode an image, run an ONNX detector, return typed detections."""

from .candidates import Candidates
from .detections import Detections
from .detector import Detector, ModelInfo
from .errors import (
    CorruptImageError,
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    InferenceError,
    ModelError,
    ParameterError,
    UnsupportedImageError,
)
from .image_decoding import DecodedImage, decode_image
from .params import PredictParams

__all__ = [
    "Candidates",
    "CorruptImageError",
    "DecodedImage",
    "Detections",
    "Detector",
    "EmptyImageError",
    "ImageError",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "InferenceError",
    "ModelError",
    "ModelInfo",
    "ParameterError",
    "PredictParams",
    "UnsupportedImageError",
    "decode_image",
]
