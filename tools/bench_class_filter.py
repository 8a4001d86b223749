"""Time `Detector.select` with a class filter of n names (each filter new, so nothing is reused): the lookup's cost.

.venv/bin/python -m tools.bench_class_filter
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from inference import PredictParams
from inference.catalog import embedded_model
from inference.labels import coco_class_names
from inference.params import REQUEST_LIMITS


def main() -> None:
    """Print the median time per filter size."""
    detector = embedded_model("yolox_nano").load()
    candidates = detector.candidates(np.zeros((480, 640, 3), np.uint8))
    names = [name.upper() for name in coco_class_names()]
    print("| names | select, ms (median of 5) | per name, us |\n| --- | --- | --- |")
    for count in (1, 80, REQUEST_LIMITS.classes, 10_000, 100_000):
        times = []
        for run in range(5):
            params = PredictParams(classes=(*(names[i % 80] for i in range(count - 1)), run))  # a new filter each run
            started = time.perf_counter()
            detector.select(candidates, params)
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        print(f"| {count} | {median * 1000:.2f} | {median / count * 1e6:.2f} |")


if __name__ == "__main__":
    main()
