"""Command-line and Python client for the detection server's JSON API (needs only requests; tqdm, Pillow optional)."""

from .client import DetectionClient, predict_endpoint
from .errors import (
    AuthenticationError,
    ClientError,
    ImageFailed,
    ImageProblem,
    ImageRejected,
    Interrupted,
    ServerError,
    ServerUnreachable,
    UsageError,
)
from .server_info import ServerInfo

__all__ = [
    "AuthenticationError",
    "ClientError",
    "DetectionClient",
    "ImageFailed",
    "ImageProblem",
    "ImageRejected",
    "Interrupted",
    "ServerError",
    "ServerInfo",
    "ServerUnreachable",
    "UsageError",
    "predict_endpoint",
]
