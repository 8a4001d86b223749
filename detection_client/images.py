"""Command-line image arguments (files, folders, "-" for stdin) -> named inputs read one at a time."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
STDIN = "-"


@dataclass(frozen=True)
class ImageInput:
    """One image to send: `name` for output, `path` None for standard input."""

    name: str
    path: Path | None

    def read(self) -> bytes:
        """The file's bytes (all of stdin for "-")."""
        if self.path is None:
            return sys.stdin.buffer.read()
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {self.path}: {exc.strerror or exc}") from None


def collect_images(arguments: list[str]) -> list[ImageInput]:
    """Expand the arguments in order; a folder gives its images (not recursive), sorted by name."""
    inputs: list[ImageInput] = []
    for argument in arguments:
        if argument == STDIN:
            if any(item.path is None for item in inputs):
                raise UsageError('"-" (standard input) can be given only once')
            inputs.append(ImageInput("stdin", None))
            continue
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise UsageError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in the folder {path}")
            inputs.extend(ImageInput(str(p), p) for p in found)
        elif path.is_file():
            inputs.append(ImageInput(str(path), path))  # any suffix: the server decides what it can read
        else:
            raise UsageError(f"no such file or folder: {argument}")
    return inputs
