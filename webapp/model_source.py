"""Where the model comes from: the embedded default, a local path, or a URL downloaded once into a cache."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from inference import ModelError
from serving.settings import SETTINGS_BY_NAME

_CHUNK = 1 << 20


def resolve_model_path(config: dict, embedded: Path) -> Path:
    """The local model file the configuration names (MODEL_PATH, then MODEL_URL, else the embedded one)."""
    if config["MODEL_PATH"]:
        path = Path(config["MODEL_PATH"]).expanduser()
        if not path.is_file():
            raise ModelError(f"MODEL_PATH {path} is not a file")
        _check_sha256(path, config["MODEL_SHA256"])
        return path
    if config["MODEL_URL"]:
        return download_model(
            config["MODEL_URL"],
            Path(config["MODEL_CACHE_DIR"]),
            config["MODEL_SHA256"],
            config["MODEL_MAX_DOWNLOAD_BYTES"],
        )
    return embedded


def download_model(
    url: str, cache_dir: Path, sha256: str = "", max_bytes: int = SETTINGS_BY_NAME["MODEL_MAX_DOWNLOAD_BYTES"].default
) -> Path:
    """Download `url` once into `cache_dir` (named by the URL's hash) and return the cached path."""
    if not url.startswith(("http://", "https://")):
        raise ModelError(f"MODEL_URL must be an http(s) URL, got {url!r}")
    name = Path(url.split("?")[0]).name or "model.onnx"
    target = cache_dir / hashlib.sha256(url.encode()).hexdigest()[:16] / name
    if target.is_file():
        _check_sha256(target, sha256)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    complete = False
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as partial:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                while chunk := response.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ModelError(f"the model at {url} is larger than MODEL_MAX_DOWNLOAD_BYTES={max_bytes}")
                    digest.update(chunk)
                    partial.write(chunk)
                if response.length:  # http.client ends a body cut short of its Content-Length silently
                    raise ModelError(
                        f"cannot download the model from {url}: the connection closed after {size} of "
                        f"{size + response.length} bytes; try again"
                    )
            if sha256 and digest.hexdigest() != sha256.lower():
                raise ModelError(f"the model downloaded from {url} has sha256 {digest.hexdigest()}, expected {sha256}")
            complete = True
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 (a bad URL, a reset, a full disk...: all become one clear error)
            network = isinstance(exc, (urllib.error.URLError, TimeoutError, ConnectionError))
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else f"{type(exc).__name__}: {exc}"
            hint = "; if this machine is offline, download it elsewhere and set MODEL_PATH" if network else ""
            raise ModelError(f"cannot download the model from {url} ({reason}){hint}") from None
        finally:
            if not complete:  # also on SystemExit from a signal: never leave a partial file behind
                partial.close()
                os.unlink(partial.name)
    os.replace(partial.name, target)  # atomic: concurrent workers never see half a file
    return target


def _check_sha256(path: Path, expected: str) -> None:
    """Refuse a file whose sha256 differs from the configured one."""
    if not expected:
        return
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected.lower():
        raise ModelError(f"{path} has sha256 {digest}, expected {expected}")
