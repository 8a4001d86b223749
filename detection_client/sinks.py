"""Where results go: streamed to stdout (table, JSON Lines, one JSON array) or collected into CSV and COCO files."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

from .coco import CocoCategories, CocoImageIds, coco_document
from .files import atomic_write
from .output import table_header, table_rows, to_json, to_json_line
from .rounding import rounded_detection

CSV_COLUMNS = ("file", "image_width", "image_height", "class_id", "class_name", "score", "x1", "y1", "x2", "y2")


class Sink:
    """Receives each image's record; `fresh` is False for images a previous run finished (read back from --json-dir)."""

    def image(self, index: int, record: dict, fresh: bool) -> None:
        """One image's record (a result, or {"file", "error"})."""

    def close(self) -> None:
        """The run is over (finished or stopped): write what was collected."""


class TableOut(Sink):
    """One line per detection on stdout as answers arrive; a rejected image is reported on stderr by the runner."""

    def __init__(self, file_width: int, write: Callable[[str], None]) -> None:
        self.file_width, self.write, self._header_due = file_width, write, True

    def image(self, index: int, record: dict, fresh: bool) -> None:
        if not fresh or "error" in record:
            return
        lines = table_rows(record["file"], record, self.file_width)
        if self._header_due:  # with the first row, so that a run that fails prints only its message
            lines.insert(0, table_header(self.file_width))
            self._header_due = False
        self.write("\n".join(lines))


class JsonLinesOut(Sink):
    """One JSON object per image on stdout, as answers arrive (errors included)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def image(self, index: int, record: dict, fresh: bool) -> None:
        if fresh:
            self.write(to_json_line(record))


class JsonArrayOut(Sink):
    """One JSON array of this run's records, in input order, printed at the end."""

    def __init__(self) -> None:
        self.records: dict[int, dict] = {}

    def image(self, index: int, record: dict, fresh: bool) -> None:
        if fresh:
            self.records[index] = record

    def close(self) -> None:
        print(to_json([self.records[i] for i in sorted(self.records)]), file=sys.stdout, flush=True)


class _Collected(Sink):
    """Every image's result (this run's and earlier runs'), in input order, for a file written at the end."""

    def __init__(self, path: Path) -> None:
        self.path, self.results = path, {}

    def image(self, index: int, record: dict, fresh: bool) -> None:
        if "error" not in record:
            self.results[index] = record

    def ordered(self) -> list[dict]:
        return [self.results[i] for i in sorted(self.results)]


class CsvFile(_Collected):
    """One row per detection: file, image size, class, score, box corners in pixels."""

    def close(self) -> None:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for record in self.ordered():
            for d in map(rounded_detection, record["detections"]):
                writer.writerow(
                    [
                        record["file"],
                        record["image"]["width"],
                        record["image"]["height"],
                        d["class_id"],
                        d["class_name"],
                        d["score"],
                        *d["box"],
                    ]
                )
        atomic_write(self.path, text.getvalue().encode("utf-8"))


class CocoFile(_Collected):
    """COCO results with the images list (see coco.coco_document)."""

    def __init__(
        self, path: Path, categories: CocoCategories, image_ids: CocoImageIds, warn: Callable[[str], None]
    ) -> None:
        super().__init__(path)
        self.categories, self.image_ids, self.warn = categories, image_ids, warn

    def close(self) -> None:
        document, unmatched = coco_document(self.ordered(), self.categories, self.image_ids)
        if unmatched:
            self.warn(f"{unmatched} detection(s) left out of {self.path}: their class has no category there")
        atomic_write(self.path, json.dumps(document, ensure_ascii=False).encode("utf-8"))
