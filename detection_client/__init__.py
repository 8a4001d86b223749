"""Command-line and Python client for the detection server's JSON API."""
from .client import DetectionClient, predict_endpoint
from .errors import (
    AuthenticationError,
    ClientError,
    ImageRejected,
    ServerError,
    ServerUnreachable,
    UsageError,
)

__all__ = [
    "AuthenticationError",
    "ClientError",
    "DetectionClient",
    "ImageRejected",
    "ServerError",
    "ServerUnreachable",
    "UsageError",
    "predict_endpoint",
]
