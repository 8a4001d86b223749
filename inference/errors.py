"""Error types raised by the inference package; the web layer maps each to an HTTP status."""


class InferenceError(Exception):
    """Base class for every error this package raises on purpose."""


class ImageError(InferenceError):
    """The bytes given are not an image we can use."""


class EmptyImageError(ImageError):
    """Zero bytes were given."""


class UnsupportedImageError(ImageError):
    """The bytes are not an image in a supported format (text, PDF, unknown format)."""


class CorruptImageError(ImageError):
    """The bytes look like an image but cannot be decoded (truncated or damaged)."""


class ImageTooLargeError(ImageError):
    """The image has more pixels or a longer side than allowed (decompression-bomb guard)."""


class ImageTooSmallError(ImageError):
    """The image is smaller than the minimum side length."""


class ParameterError(InferenceError, ValueError):
    """A prediction parameter has the wrong type or is out of range."""


class ModelError(InferenceError):
    """The ONNX model cannot be loaded or fits no supported detector family."""
