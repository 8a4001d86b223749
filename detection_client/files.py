"""Per-image output files (--json-dir, --annotate-dir): written atomically, and recognised on a rerun."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .output import to_json

TEMPORARY_SUFFIX = ".partial"  # a file being written; renamed into place when complete
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk every complete PNG ends with


class OutputNames:
    """Unique file stems in one run: two "photo.jpg" from different folders become photo, photo-2."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def stem_for(self, name: str) -> str:
        """A stem not used yet in this run (the same inputs in the same order give the same stems)."""
        base = Path(name).stem or "image"
        stem, counter = base, 1
        while stem in self._used:
            counter += 1
            stem = f"{base}-{counter}"
        self._used.add(stem)
        return stem


def atomic_write(target: Path, data: bytes) -> Path:
    """Write `target` so that it either does not exist or is complete: a temporary file, then a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, target)  # atomic on POSIX and Windows, same folder
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def remove_temporaries(folder: Path) -> int:
    """Delete temporaries a killed run left in `folder` (ours only: ".<name>.<random>.partial"); returns how many."""
    removed = 0
    for leftover in folder.glob(f".*{TEMPORARY_SUFFIX}") if folder.is_dir() else ():
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


class OutputFiles:
    """The per-image files one run writes: DIR/<stem>.json and DIR/<stem>.png."""

    def __init__(self, json_dir: Path | None, annotate_dir: Path | None) -> None:
        self.json_dir, self.annotate_dir = json_dir, annotate_dir

    @property
    def any(self) -> bool:
        """Whether any per-image file is written (what a rerun can resume from)."""
        return bool(self.json_dir or self.annotate_dir)

    def clean_up(self) -> int:
        """Remove temporaries left by a run that was killed; returns how many."""
        return sum(remove_temporaries(folder) for folder in {self.json_dir, self.annotate_dir} if folder)

    def json_path(self, stem: str) -> Path | None:
        return self.json_dir / f"{stem}.json" if self.json_dir else None

    def png_path(self, stem: str) -> Path | None:
        return self.annotate_dir / f"{stem}.png" if self.annotate_dir else None

    def done_record(self, stem: str, name: str, sha256: str | None) -> dict | None:
        """The record of an image a previous run finished: every file present and complete, the JSON a result
        (not an error) for this file name and, when `sha256` is given, for these bytes. {} without --json-dir."""
        png = self.png_path(stem)
        if png is not None and not _is_complete_png(png):
            return None
        path = self.json_path(stem)
        if path is None:
            return {} if png is not None else None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not (isinstance(record, dict) and record.get("file") == name and isinstance(record.get("detections"), list)):
            return None
        image = record.get("image") if isinstance(record.get("image"), dict) else {}
        if sha256 is not None and image.get("sha256") != sha256:
            return None  # the file changed since
        return record

    def write(self, stem: str, record: dict, png: bytes | None) -> None:
        """Write the image's PNG (if drawn) and then its JSON: the JSON last, as the mark of a finished image."""
        if png is not None and self.annotate_dir:
            atomic_write(self.png_path(stem), png)
        if self.json_dir:
            atomic_write(self.json_path(stem), (to_json(record) + "\n").encode("utf-8"))


def _is_complete_png(path: Path) -> bool:
    """Starts with the PNG signature and ends with the IEND chunk (a cut-off file does not)."""
    try:
        with path.open("rb") as file:
            head = file.read(len(PNG_SIGNATURE))
            file.seek(0, os.SEEK_END)
            if file.tell() < len(PNG_SIGNATURE) + len(PNG_END):
                return False
            file.seek(-len(PNG_END), os.SEEK_END)
            return head == PNG_SIGNATURE and file.read() == PNG_END
    except OSError:
        return False
