"""Progress while a run goes (a tqdm bar on a terminal, plain periodic lines otherwise) and the summary at its end."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO


class Progress:
    """Images answered so far, errors, images/s and ETA; `mode` is "bar", "lines" or "off"."""

    def __init__(self, total: int, mode: str, interval: float = 10.0, stream: TextIO | None = None) -> None:
        self.total, self.mode, self.interval = total, mode, interval
        self.stream = stream or sys.stderr
        self.done = self.errors = 0
        self.started = self._last_line = time.monotonic()
        self._bar = None
        if mode == "bar" and total:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="img", file=self.stream, dynamic_ncols=True, leave=False)

    def advance(self, images: int, errors: int) -> None:
        """`images` more answered, `errors` of them not done."""
        self.done += images
        self.errors += errors
        if self._bar is not None:
            self._bar.set_postfix_str(f"errors={self.errors}", refresh=False)
            self._bar.update(images)
        self.tick()

    def tick(self) -> None:
        """Print a plain progress line if one is due (called on every answer and while waiting)."""
        now = time.monotonic()
        if self.mode == "lines" and now - self._last_line >= self.interval and self.done < self.total:
            self._last_line = now
            print(f"detect: {self.line(now)}", file=self.stream, flush=True)

    def line(self, now: float) -> str:
        """ "120/200 images (60%), 35.2 img/s, 0 errors, ETA 2 s"."""
        rate = self.done / max(now - self.started, 1e-9)
        eta = f"{(self.total - self.done) / rate:.0f} s" if rate > 0 else "unknown"
        percent = 100 * self.done / self.total if self.total else 100
        return f"{self.done}/{self.total} images ({percent:.0f}%), {rate:.1f} img/s, {self.errors} errors, ETA {eta}"

    def write(self, text: str, file: TextIO) -> None:
        """Print a line without tearing the bar."""
        if self._bar is not None:
            self._bar.write(text, file=file)
        else:
            print(text, file=file, flush=True)

    def close(self) -> None:
        """Remove the bar (the summary follows)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@dataclass
class Summary:
    """What a run did, by outcome; `classes` counts detections by class over every finished image."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    rejected: int = 0
    failed: int = 0
    seconds: float = 0.0
    classes: Counter = field(default_factory=Counter)

    @property
    def not_done(self) -> int:
        """Images not reached: the run stopped first."""
        return self.total - self.done - self.skipped - self.rejected - self.failed

    def lines(self) -> list[str]:
        """The summary for a person, on stderr."""
        sent = self.done + self.rejected + self.failed
        rate = f" in {self.seconds:.1f} s ({sent / self.seconds:.1f} img/s)" if self.seconds > 0 and sent else ""
        counts = (
            f"{self.done} done, {self.skipped} skipped (done before), {self.rejected} rejected, {self.failed} failed"
        )
        if self.not_done:
            counts += f", {self.not_done} not done"
        found = sum(self.classes.values())
        classes = ", ".join(f"{name} {count}" for name, count in self.classes.most_common())
        return [f"{self.total} images: {counts}{rate}", f"{found} detections" + (f": {classes}" if classes else "")]
