#!/usr/bin/env python3
"""Write every sample request and answer of README.md, docs/api.md and docs/client.md from a running server.

Each sample sits between `<!-- sample NAME ... -->` and `<!-- /sample -->` in its document: the command (a ```sh
block) and what the default server (the Procfile's gunicorn, started here on a free loopback port) answered to
it. tests/test_doc_samples.py runs the same commands and fails when an answer no longer matches.

Usage:  python -m tools.make_doc_samples
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS_URL = "http://localhost:5000"  # the URL the documents show; replaced by the running server's
PHOTOS = ROOT / "tests" / "data" / "photos"
CLIENT_PHOTOS = (
    "chelsea.png",
    "grace_hopper.jpg",
    "rocket.jpg",
)  # in photos/ for the client's sample (not sent before)
WIDTH = 116  # a JSON answer's lines, at most (when a single value allows)
_ASTRONAUT_SHA256 = hashlib.sha256((PHOTOS / "astronaut.jpg").read_bytes()).hexdigest()


@dataclass(frozen=True)
class Sample:
    """One command shown in a document, and the kind of answer shown after it."""

    name: str
    doc: str  # relative to ROOT
    command: str
    answer: str  # "json" (stdout is one JSON document) or "text" (stdout then stderr, as a terminal shows them)
    client: bool = False  # the `detect` command, run in a folder holding photos/


SAMPLES: tuple[Sample, ...] = (
    Sample(
        "readme-curl",
        "README.md",
        f"curl -s {DOCS_URL}/api/predict -F image=@tests/data/photos/coffee.jpg -F classes=cup",
        "json",
    ),
    Sample(
        "api-json",
        "docs/api.md",
        """printf '{"requests": [{"image": {"content": "%s"}, "features": [{"score_th": 0.5}]}]}' """
        f""""$(base64 -w0 tests/data/photos/astronaut.jpg)" | curl -s {DOCS_URL}/api/predict """
        """-H 'Content-Type: application/json' --data-binary @-""",
        "json",
    ),
    Sample(
        "api-sha256",
        "docs/api.md",
        f"""curl -s {DOCS_URL}/api/predict -H 'Content-Type: application/json' """
        f"""-d '{{"requests": [{{"image": {{"sha256": "{_ASTRONAUT_SHA256}"}}, "features": [{{"score_th": 0.8}}]}}]}}'""",
        "json",
    ),
    Sample(
        "api-unknown-key",
        "docs/api.md",
        f"""curl -s {DOCS_URL}/api/predict -H 'Content-Type: application/json' """
        f"""-d '{{"model": "yolox_nano", "requests": [{{"image": {{"sha256": "{_ASTRONAUT_SHA256}"}}}}]}}'""",
        "json",
    ),
    Sample("client-table", "docs/client.md", f"detect {DOCS_URL} photos/ --score-th 0.5", "text", client=True),
)


def run(sample: Sample, url: str) -> str:
    """What the sample's command prints against the server at url."""
    command = sample.command.replace(DOCS_URL, url)
    if not sample.client:
        done = subprocess.run(
            ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{sample.name}: exit {done.returncode}: {done.stderr}")
        return done.stdout
    with tempfile.TemporaryDirectory(prefix="doc-sample-") as folder:
        (Path(folder) / "photos").mkdir()
        for name in CLIENT_PHOTOS:
            shutil.copy(PHOTOS / name, Path(folder) / "photos" / name)
        argv = [sys.executable, "-m", "detection_client", *command.split()[1:]]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DETECTION_API_TOKEN": ""}
        done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{sample.name}: exit {done.returncode}: {done.stderr}")
    return done.stdout + done.stderr


def format_json(value, indent: int = 0) -> str:
    """JSON indented by 2, each value on one line when it fits in WIDTH."""
    flat = json.dumps(value, ensure_ascii=False)
    if indent + len(flat) <= WIDTH or not isinstance(value, (dict, list)) or not value:
        return flat
    inner = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{json.dumps(key)}: {format_json(item, indent + 2)}" for key, item in value.items()]
        return "{\n" + inner + f",\n{inner}".join(items) + "\n" + " " * indent + "}"
    return (
        "[\n" + inner + f",\n{inner}".join(format_json(item, indent + 2) for item in value) + "\n" + " " * indent + "]"
    )


def render_answer(sample: Sample, output: str) -> str:
    """The answer block's body, as the document shows it."""
    if sample.answer == "json":
        return format_json(json.loads(output)) + "\n"
    return output.replace("\r", "")


def block(sample: Sample, answer: str) -> str:
    """The whole sample as it sits in its document, markers included."""
    return (
        f"<!-- sample {sample.name}: written by `python -m tools.make_doc_samples`, checked by a test -->\n"
        f"```sh\n{sample.command}\n```\n\n```{sample.answer}\n{answer}```\n<!-- /sample -->"
    )


def sample_pattern(name: str) -> re.Pattern:
    """The sample's place in its document, markers included."""
    return re.compile(rf"<!-- sample {re.escape(name)}[: ].*?<!-- /sample -->", re.DOTALL)


def shown(sample: Sample, text: str) -> tuple[str, str]:
    """(the command, the answer) a document shows for the sample."""
    match = sample_pattern(sample.name).search(text)
    if match is None:
        raise LookupError(f"{sample.doc} has no sample {sample.name!r}")
    parsed = re.search(r"```sh\n(.*?)\n```\s*```(?:json|text)\n(.*?)```", match.group(0), re.DOTALL)
    if parsed is None:
        raise LookupError(f"{sample.doc}: sample {sample.name!r} is not a command block and an answer block")
    return parsed.group(1), parsed.group(2)


def write(sample: Sample, answer: str) -> None:
    """Replace the sample's block in its document."""
    path = ROOT / sample.doc
    text = path.read_text(encoding="utf-8")
    new, count = sample_pattern(sample.name).subn(lambda _: block(sample, answer), text)
    if count != 1:
        raise LookupError(f"{sample.doc}: {count} places for sample {sample.name!r} (want exactly 1)")
    path.write_text(new, encoding="utf-8")


def main() -> int:
    from tools.servers import gunicorn_server

    with gunicorn_server() as server:
        answers = [(sample, render_answer(sample, run(sample, server.url))) for sample in SAMPLES]
    for sample, answer in answers:
        write(sample, answer)
        print(f"{sample.doc}: {sample.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
