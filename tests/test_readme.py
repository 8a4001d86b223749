"""README.md and docs/ say what runs: the quick start is what CI runs, the examples run against `make serve`,
the settings and parameter tables equal what the code declares."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from tools.servers import ROOT, free_port

README = (ROOT / "README.md").read_text()
DOCS = {"api": (ROOT / "docs" / "api.md").read_text(), "settings": (ROOT / "docs" / "settings.md").read_text()}
LOCAL_URL = "http://localhost:5000"

pytestmark = pytest.mark.server


def section(title: str, text: str = README) -> str:
    """The text from the `## title` heading to the next `## ` heading."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_readme_is_short_and_links_only_to_files_that_exist():
    assert len(README.encode()) < 5000
    for target in re.findall(r"\]\(((?:docs|inference|tests|BENCHMARKS)[^)#]*)", README):
        assert (ROOT / target).exists(), target


def test_the_parameter_table_in_the_api_doc_is_the_declaration():
    from inference.params import PARAMETERS

    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", DOCS["api"], flags=re.MULTILINE))
    for parameter in PARAMETERS:
        assert rows[parameter.name].strip() == str(parameter.default), parameter.name
        assert parameter.help in DOCS["api"], parameter.name


def code_blocks(text: str, language: str) -> list[str]:
    """The bodies of the ```language fenced blocks in text."""
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def shell_commands(text: str) -> list[str]:
    """Every non-empty line of the text's ```sh blocks."""
    return [line.strip() for block in code_blocks(text, "sh") for line in block.splitlines() if line.strip()]


def test_quick_start_is_exactly_the_two_make_commands_and_ci_runs_the_second():
    assert shell_commands(section("Quick start")) == ["make serve", "make test"]
    ci_commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci_commands == ["make test"]


# docs/settings.md's table is generated from the settings table and checked by tests/test_settings.py.


@pytest.fixture(scope="module")
def make_serve():
    """`make serve`, the quick start's first command, bound to loopback on a free port; yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}",  # loopback only; the Procfile binds all interfaces
        "WEB_CONCURRENCY": "1",
        "PYTHON": sys.executable,
    }
    env.pop("API_TOKENS", None)
    log = tempfile.TemporaryFile()  # noqa: SIM115 (read after the server stops, in `finally`)
    process = subprocess.Popen(
        ["make", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # a first run installs the run-time packages
        while True:
            assert process.poll() is None, f"make serve exited: {output(log)}"
            try:
                if requests.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"make serve did not get ready: {output(log)}"
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        log.close()


def output(log) -> str:
    """The end of what make serve printed."""
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


def run_shell(command: str, url: str) -> dict:
    """Run a README command in the repository folder against url; its output must be one JSON object."""
    done = subprocess.run(
        ["bash", "-c", command.replace(LOCAL_URL, url)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_readme_curl_finds_the_cup(make_serve):
    (command,) = shell_commands(section("Try it from a program"))
    answer = run_shell(command, make_serve)
    assert {d["class_name"] for d in answer["responses"][0]["detections"]} == {"cup"}


def test_api_doc_shell_examples_work(make_serve):
    commands = shell_commands(DOCS["api"])
    assert len(commands) >= 5
    answers = [run_shell(command, make_serve) for command in commands]
    json_answer, form_answer, model, health, ready = answers[:5]
    assert "person" in [d["class_name"] for d in json_answer["responses"][0]["detections"]]
    form_result = form_answer["responses"][0]
    assert {d["class_name"] for d in form_result["detections"]} == {"cup"}
    assert form_result["annotated_image"]
    assert model["name"] == "deimv2_femto" and health["status"] == "ok" and ready["status"] == "ready"
    assert all("error" not in answer for answer in answers[:5])  # the later ones: tests/test_doc_samples.py


def test_the_origin_python_client_in_the_readme_works_as_shown(make_serve):
    (script,) = code_blocks(DOCS["api"], "python")
    done = subprocess.run(
        [sys.executable, "-c", script.replace(LOCAL_URL, make_serve)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "'class_name': 'person'" in done.stdout
