"""The client's progress display (tqdm bar, plain lines) and end-of-run summary."""

from __future__ import annotations

import io
import time
from collections import Counter

from detection_client.progress import Progress, Summary


def test_the_bar_shows_count_rate_and_errors():
    stream = io.StringIO()
    progress = Progress(3, "bar", stream=stream)
    progress.advance(2, 0)
    time.sleep(0.15)  # tqdm redraws at most every 0.1 s
    progress.advance(1, 1)
    progress.close()
    shown = stream.getvalue()
    assert "3/3" in shown and "img/s" in shown and "errors=1" in shown


def test_plain_lines_when_not_on_a_terminal():
    stream = io.StringIO()
    progress = Progress(4, "lines", interval=0, stream=stream)
    progress.advance(1, 1)
    progress.advance(3, 0)  # finished: no line (the summary follows)
    [line] = stream.getvalue().splitlines()
    assert line.startswith("detect: 1/4 images (25%), ") and line.endswith(
        " img/s, 1 errors, ETA " + line.split("ETA ")[1]
    )
    assert line.split("ETA ")[1].endswith(" s")


def test_off_prints_nothing():
    stream = io.StringIO()
    progress = Progress(2, "off", interval=0, stream=stream)
    progress.advance(1, 0)
    progress.write("a result line", stream)
    assert stream.getvalue() == "a result line\n"


def test_summary_counts_by_outcome_and_class():
    summary = Summary(total=10, done=5, skipped=2, rejected=1, failed=1, seconds=2.0, classes=Counter(cat=3, dog=1))
    assert summary.not_done == 1
    assert summary.lines() == [
        "10 images: 5 done, 2 skipped (done before), 1 rejected, 1 failed, 1 not done in 2.0 s (3.5 img/s)",
        "4 detections: cat 3, dog 1",
    ]
