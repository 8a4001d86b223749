"""The ceiling: the Detector's own ONNX Runtime session.run on a tensor prepared once, in one or several processes."""

from __future__ import annotations

import multiprocessing
import statistics
import time

from tools.bench_inference import bench_jpeg, load

from .report import Row


def _latency_row(name: str, latencies: list[float], wall_s: float, concurrency: int, cpu_s: float) -> Row:
    """Row from per-call seconds over a wall-clock window and the CPU seconds they used."""
    ms = sorted(x * 1000 for x in latencies)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    return Row(
        name,
        "tensor",
        concurrency,
        len(ms) / wall_s,
        statistics.median(ms),
        pick(0.95),
        pick(0.99),
        cpu_ms=cpu_s * 1000 / len(ms),
    )


def _run_session(model: str, threads: int, duration: float, barrier=None) -> tuple[list[float], float]:
    """session.run in a loop for `duration` seconds on a tensor prepared once; per-call seconds, CPU seconds."""
    from inference.preprocess import prepare_input

    detector = load(model, threads)
    session = detector.session
    image = detector.decode(bench_jpeg())
    tensor, _ = prepare_input(image.pixels, detector._input_hw, detector._recipe, image.original_size)
    feed = {detector._input_name: tensor, **detector._extra_feeds}  # DETR models also take a target size
    names = [o.name for o in session.get_outputs()]
    for _ in range(10):  # warm-up
        session.run(names, feed)
    if barrier is not None:
        barrier.wait()
    latencies, cpu_started, deadline = [], time.process_time(), time.perf_counter() + duration
    while (started := time.perf_counter()) < deadline:
        session.run(names, feed)
        latencies.append(time.perf_counter() - started)
    return latencies, time.process_time() - cpu_started  # process time: ONNX Runtime's own threads included


def _session_process(model: str, threads: int, duration: float, barrier, results) -> None:
    """Child process body for the parallel raw measurement."""
    results.put(_run_session(model, threads, duration, barrier))


def raw_sequential(model: str, threads: int, duration: float) -> Row:
    """One session, one caller, `threads` intra-op threads."""
    latencies, cpu_s = _run_session(model, threads, duration)
    return _latency_row(f"raw 1 session x {threads} thr", latencies, duration, 1, cpu_s)


def raw_parallel(model: str, sessions: int, duration: float) -> Row:
    """`sessions` processes, one single-threaded session each, running at the same time."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no ONNX Runtime state across fork
    barrier, results = context.Barrier(sessions), context.Queue()
    processes = [
        context.Process(target=_session_process, args=(model, 1, duration, barrier, results)) for _ in range(sessions)
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=duration + 120) for _ in processes]
    for process in processes:
        process.join()
    latencies = [x for per_process, _ in answers for x in per_process]
    return _latency_row(f"raw {sessions} sessions x 1 thr", latencies, duration, sessions, sum(c for _, c in answers))
