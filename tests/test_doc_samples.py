"""The sample requests and answers in README.md and docs/ are what the default server answers today.

tools/make_doc_samples.py wrote them; this runs the same commands, in the same order, against a fresh default
server: keys and words exactly, numbers within a tolerance, timings only as numbers (they vary run to run).
"""

from __future__ import annotations

import json
import math
import re

import pytest

from tools.make_doc_samples import SAMPLES, Sample, block, run, shown
from tools.servers import ROOT, gunicorn_server

pytestmark = pytest.mark.server
DOCS = ("README.md", "docs/api.md", "docs/client.md")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_RUN_TIME = re.compile(r" in [\d.]+ s \([\d.]+ img/s\)")  # the client's summary: varies run to run


@pytest.fixture(scope="module")
def live_answers() -> dict[str, str]:
    """Each sample's output from a fresh default server, run in the declared order (as the tool does)."""
    with gunicorn_server() as server:
        return {sample.name: run(sample, server.url) for sample in SAMPLES}


def text_of(sample: Sample) -> str:
    return (ROOT / sample.doc).read_text(encoding="utf-8")


def test_every_sample_block_in_the_docs_is_declared_once_and_written_by_the_tool():
    declared = [(sample.doc, sample.name) for sample in SAMPLES]
    assert len(set(declared)) == len(declared)
    found = [(doc, name) for doc in DOCS for name in re.findall(r"<!-- sample ([\w-]+)", (ROOT / doc).read_text())]
    assert sorted(found) == sorted(declared)
    for sample in SAMPLES:
        command, answer = shown(sample, text_of(sample))
        assert command == sample.command, f"{sample.doc}: {sample.name}: run python -m tools.make_doc_samples"
        assert block(sample, answer) in text_of(sample), f"{sample.name}: not as the tool writes it"


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.name for sample in SAMPLES])
def test_the_documented_answer_is_what_the_server_answers(sample, live_answers):
    _, documented = shown(sample, text_of(sample))
    live = live_answers[sample.name]
    if sample.answer == "json":
        assert_same_json(json.loads(documented), json.loads(live))
    else:
        assert_same_text(documented, live)


def assert_same_json(documented, live, path: str = "$") -> None:
    """Same keys and strings; ints equal; floats close; under timings_ms, any non-negative number."""
    assert type(documented) is type(live), f"{path}: {documented!r} vs {live!r}"
    if isinstance(documented, dict):
        assert list(documented) == list(live), f"{path}: keys {list(documented)} vs {list(live)}"
        for key in documented:
            if key == "timings_ms":
                assert all(isinstance(v, (int, float)) and v >= 0 for v in live[key].values()), path
                assert list(documented[key]) == list(live[key]), f"{path}.timings_ms keys"
            else:
                assert_same_json(documented[key], live[key], f"{path}.{key}")
    elif isinstance(documented, list):
        assert len(documented) == len(live), f"{path}: {len(documented)} items vs {len(live)}"
        for index, (a, b) in enumerate(zip(documented, live)):
            assert_same_json(a, b, f"{path}[{index}]")
    elif isinstance(documented, float):
        assert close(documented, live), f"{path}: documented {documented}, answered {live}"
    else:
        assert documented == live, f"{path}: documented {documented!r}, answered {live!r}"


def close(documented: float, live: float) -> bool:
    """Scores and normalised coordinates within 0.02; pixels within 1.5 (or 1%)."""
    if abs(documented) <= 1 and abs(live) <= 1:
        return abs(documented - live) <= 0.02
    return math.isclose(documented, live, rel_tol=0.01, abs_tol=1.5)


def lines_of(text: str) -> list[tuple[str, list[float], bool]]:
    """(the words, the numbers, whether numbers are measured) per line, sorted: rows arrive in any order."""
    parsed = []
    for line in text.strip().splitlines():
        line = _RUN_TIME.sub(" in <time>", line)
        if ": " in line and " detections: " in line:  # class counts in the order answers arrived
            head, classes = line.split(" detections: ")
            line = f"{head} detections: " + ", ".join(sorted(classes.split(", ")))
        words = " ".join(_NUMBER.sub("#", line).split())
        numbers = [float(n) for n in _NUMBER.findall(line)]
        parsed.append((words, numbers, not line.startswith("detect:")))  # the summary's counts are exact
    return sorted(parsed, key=lambda item: (item[0], item[1]))


def assert_same_text(documented: str, live: str) -> None:
    shown_lines, live_lines = lines_of(documented), lines_of(live)
    assert [words for words, _, _ in shown_lines] == [words for words, _, _ in live_lines], live
    for (words, a, measured), (_, b, _) in zip(shown_lines, live_lines):
        if measured:
            assert all(close(x, y) for x, y in zip(a, b)), f"{words}: documented {a}, answered {b}"
        else:
            assert a == b, f"{words}: documented {a}, answered {b}"


def test_the_comparison_catches_a_stale_answer():
    """The old api.md sample (another model, old timing keys, no sha256) fails against today's answer."""
    old = {
        "model": "yolox_nano",
        "responses": [{"image": {"width": 512, "height": 512}, "timings_ms": {"decode": 4.1}}],
    }
    new = {"model": "deimv2_femto", "responses": [{"image": {"width": 512, "height": 512, "sha256": "ab"}}]}
    with pytest.raises(AssertionError):
        assert_same_json(old, new)
    with pytest.raises(AssertionError):
        assert_same_json({"score": 0.93}, {"score": 0.89})
    assert_same_json({"score": 0.8933, "box": [12.5, 508.0]}, {"score": 0.8941, "box": [12.9, 507.2]})
    with pytest.raises(AssertionError):
        assert_same_text("a.jpg  cup  0.89  162, 16, 421, 298\n", "a.jpg  cup  0.89  169, 19, 415, 320\n")
