"""Candidates: everything the expensive half of a prediction found in one image, before any threshold.

Decoding, pre-processing, the model run and the family decode depend only on the image and the model;
score threshold, class filter, min size, NMS and max results are cheap and applied by `select`. So a
Candidates object can be cached (keyed by the image's sha256) and re-filtered with any parameters.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

# Scores below this are never reported (every model's useful threshold is far above it); it keeps the
# cached set small: a few hundred (box, class, score) entries instead of every box x every class.
CANDIDATE_SCORE_FLOOR = 0.001
_HEADER = struct.Struct("<4sIIII")  # magic, boxes, entries, image width, image height
_MAGIC = b"CND1"


@dataclass(frozen=True)
class Candidates:
    """Boxes and their (class, score) entries at or above CANDIDATE_SCORE_FLOOR.

    xyxy: float32 (n, 4) boxes in pixels of the upright original image, clipped to it.
    box_index: int32 (m,) the box of each entry.  class_id: int32 (m,).  score: float32 (m,).
    """

    xyxy: np.ndarray
    box_index: np.ndarray
    class_id: np.ndarray
    score: np.ndarray
    image_size: tuple[int, int]  # (width, height)
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        m = len(self.box_index)
        if self.xyxy.ndim != 2 or self.xyxy.shape[1:] != (4,):
            raise ValueError(f"xyxy: expected shape (n, 4), got {self.xyxy.shape}")
        if self.class_id.shape != (m,) or self.score.shape != (m,):
            raise ValueError(f"class_id, score: expected shape ({m},), got {self.class_id.shape}, {self.score.shape}")

    @classmethod
    def from_class_scores(
        cls,
        boxes: np.ndarray,
        class_scores: np.ndarray,
        image_size: tuple[int, int],
        to_image: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> Candidates:
        """From a family decoder's boxes and dense (n, num_classes) scores, keeping entries at or above the floor.

        `to_image` maps boxes to image pixels (e.g. BoxTransform.to_image); only the boxes kept are mapped.
        """
        # Flat indices, then rows and columns by division: 2-D nonzero and unique cost several times more, and the
        # rows come out sorted, so a box's number is a running count of where the row changes.
        scores = np.ascontiguousarray(class_scores).reshape(-1)
        entries = np.flatnonzero(scores >= CANDIDATE_SCORE_FLOOR)
        rows, class_ids = np.divmod(entries, class_scores.shape[1])
        new_row = np.empty(len(rows), bool)
        new_row[:1] = True
        np.not_equal(rows[1:], rows[:-1], out=new_row[1:])
        kept_boxes = boxes[rows[new_row]]
        return cls(
            np.ascontiguousarray(to_image(kept_boxes) if to_image else kept_boxes, dtype=np.float32),
            (np.cumsum(new_row, dtype=np.int32) - 1).astype(np.int32, copy=False),
            class_ids.astype(np.int32),
            scores[entries].astype(np.float32),
            image_size,
        )

    def best_per_box(
        self, score_th: float, allowed_ids: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each box's best class (among `allowed_ids` if given) scoring at least `score_th`.

        Returns (boxes (k, 4), scores (k,), class ids (k,)) in box order; ties go to the lower class id.
        """
        keep = self.score >= score_th
        if allowed_ids is not None:
            keep &= np.isin(self.class_id, np.asarray(allowed_ids, dtype=np.int32))
        entries = np.flatnonzero(keep)
        entries = entries[np.lexsort((self.class_id[entries], -self.score[entries], self.box_index[entries]))]
        boxes = self.box_index[entries]
        first = np.ones(len(entries), bool)
        first[1:] = boxes[1:] != boxes[:-1]
        entries = entries[first]
        return self.xyxy[self.box_index[entries]], self.score[entries], self.class_id[entries].astype(np.int64)

    def to_bytes(self) -> bytes:
        """Compact, exact serialisation (for a cache shared between processes)."""
        header = _HEADER.pack(_MAGIC, len(self.xyxy), len(self.score), *self.image_size)
        arrays = (
            self.xyxy.astype("<f4"),
            self.box_index.astype("<i4"),
            self.class_id.astype("<i4"),
            self.score.astype("<f4"),
        )
        return header + b"".join(array.tobytes() for array in arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> Candidates:
        """Inverse of `to_bytes`; ValueError for anything else."""
        if len(data) < _HEADER.size:
            raise ValueError("not a candidates record: too short")
        magic, n, m, width, height = _HEADER.unpack_from(data)
        if magic != _MAGIC or len(data) != _HEADER.size + 16 * n + 12 * m:
            raise ValueError("not a candidates record: bad header or length")
        offset = _HEADER.size
        xyxy = np.frombuffer(data, "<f4", 4 * n, offset).reshape(n, 4)
        offset += 16 * n
        box_index, class_id, score = (
            np.frombuffer(data, dtype, m, offset + 4 * m * i) for i, dtype in enumerate(("<i4", "<i4", "<f4"))
        )
        return cls(xyxy, box_index, class_id, score, (width, height))
