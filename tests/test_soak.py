"""Soak: 5,000 real-photo requests at concurrency 8 on gunicorn: every answer right, worker memory steady."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from tools.loadgen import Outcome, format_summary, make_payloads, run_load, send_one, summarize
from tools.servers import ROOT, gunicorn_server, wait_workers_serving, worker_pids

pytestmark = [pytest.mark.slow, pytest.mark.server]

TOTAL_REQUESTS = 5000
FIRST_THOUSAND = 1000
CONCURRENCY = 8
HARD_LIMIT_S = 480
LOAD_BUDGET_S = 420  # leaves the hard limit room for server start, reference requests and shutdown
MAX_RSS_GROWTH = 0.10
# A label each photo's answer must hold (ground truth the default model finds); rocket holds no COCO object.
EXPECTED_LABELS = {
    "astronaut.jpg": {"person"},
    "grace_hopper.jpg": {"person"},
    "coffee.jpg": {"cup"},
    "chelsea.png": {"cat"},
    "motorcycle_left.jpg": {"motorcycle"},
    "rocket.jpg": set(),
}
ARTIFACT = ROOT / "test-artifacts" / "soak.json"


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def reference_labels(url: str) -> dict[str, tuple[str, ...]]:
    """Each photo's labels from one request before the load: every later answer must equal them."""
    with requests.Session() as session:
        answers = {p.photo: send_one(session, url, p, 0, 30.0) for p in make_payloads(list(EXPECTED_LABELS), ["json"])}
    for photo, answer in answers.items():
        assert answer.ok, f"{photo}: {answer.error_kind} {answer.error}"
        assert EXPECTED_LABELS[photo] <= set(answer.labels[0]), f"{photo}: got {answer.labels[0]}"
        if not EXPECTED_LABELS[photo]:
            assert answer.labels[0] == (), f"{photo} holds no COCO object, got {answer.labels[0]}"
    return {photo: answer.labels[0] for photo, answer in answers.items()}


def wrong_answers(outcomes: list[Outcome], reference: dict[str, tuple[str, ...]]) -> list[str]:
    """A description of every outcome that is not a 200 with its photo's reference labels."""
    return [
        f"#{o.index} {o.photo} {o.form}: status {o.status} {o.error_kind} {o.error or o.labels}"
        for o in outcomes
        if not o.ok or o.labels != [reference[o.photo]]
    ]


@pytest.mark.timeout(HARD_LIMIT_S)
def test_soak_5000_requests_without_errors_or_memory_growth():
    payloads = make_payloads(list(EXPECTED_LABELS))  # every photo in the JSON and the multipart form
    with gunicorn_server(workers=2) as server:
        # Both workers must have run the model before the first memory sample, whatever gets which connection.
        warm_up = make_payloads(["astronaut.jpg"], ["json"])[0]
        predict_once = lambda session: send_one(session, server.url, warm_up, 0, 30.0)
        assert len(wait_workers_serving(server, probe=predict_once)) == 2
        reference = reference_labels(server.url)
        deadline = time.monotonic() + LOAD_BUDGET_S
        started = time.monotonic()
        first = run_load(server.url, payloads, FIRST_THOUSAND, CONCURRENCY, max_seconds=LOAD_BUDGET_S)
        workers_before = worker_pids(server.process.pid)
        rss_before = {pid: rss_kib(pid) for pid in workers_before}
        rest = run_load(
            server.url,
            payloads,
            TOTAL_REQUESTS - FIRST_THOUSAND,
            CONCURRENCY,
            max_seconds=max(1.0, deadline - time.monotonic()),
        )
        wall_s = time.monotonic() - started
        workers_after = worker_pids(server.process.pid)
        rss_after = {pid: rss_kib(pid) for pid in workers_after}

    outcomes = first + rest
    summary = summarize(outcomes, wall_s)
    growth = {pid: (rss_after[pid] - rss_before[pid]) / rss_before[pid] for pid in rss_before if pid in rss_after}
    report = {
        **summary,
        "concurrency": CONCURRENCY,
        "rss_kib_after_1000": rss_before,
        "rss_kib_after_5000": rss_after,
        "rss_growth": {pid: round(g, 4) for pid, g in growth.items()},
    }
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(report, indent=2))
    print(f"\nsoak: {format_summary(summary)}; worker RSS KiB after 1000 {rss_before} -> after 5000 {rss_after}")

    assert len(outcomes) == TOTAL_REQUESTS, f"only {len(outcomes)} requests within {LOAD_BUDGET_S} s"
    wrong = wrong_answers(outcomes, reference)
    assert not wrong, f"{len(wrong)} wrong answers, e.g. {wrong[:5]}"
    assert len(workers_before) == 2 and workers_after == workers_before, "a worker died or was replaced"
    for pid, fraction in growth.items():
        change = f"{rss_before[pid]} -> {rss_after[pid]} KiB"
        assert fraction < MAX_RSS_GROWTH, f"worker {pid} RSS grew {fraction:.1%}: {change}"
