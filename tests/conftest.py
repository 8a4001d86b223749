"""Shared fixtures: the app and client built from create_app, the real models, and the labelled photos.

Also the lanes' guard: a test without a `server`, `browser` or `slow` mark runs in the fast lane (`make check`),
so it may not start a server process; one that tries fails at once, naming the program and the mark it needs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from inference import Detector
from webapp.app import create_app

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SLOW_LANE_MARKS = ("server", "browser", "slow")  # the fast lane is -m "not server and not browser and not slow"
# Programs that only tests of the slow lanes start (the playwright driver runs under node).
SERVER_PROGRAMS = {"gunicorn", "chromium", "chrome", "headless_shell", "redis-server", "nginx", "node", "wrk"}
_fast_lane_test: list[str] = []  # the node id of the fast-lane test running now, if one is


def _started_programs(executable: object, argv: object) -> set[str]:
    """Names of the server programs a subprocess.Popen call starts (as its executable, or `python -m name`)."""
    words = [str(executable), *(argv if isinstance(argv, (list, tuple)) else [argv])]
    return {Path(str(word)).name for word in words if word is not None} & SERVER_PROGRAMS


def _refuse_servers_in_the_fast_lane(event: str, args: tuple) -> None:
    """Audit hook: subprocess.Popen of a server program from a fast-lane test raises."""
    if event == "subprocess.Popen" and _fast_lane_test:
        started = _started_programs(args[0], args[1])
        if started:
            raise RuntimeError(
                f"{_fast_lane_test[0]} starts {', '.join(sorted(started))}: a test that starts a "
                f"server needs a mark ({', '.join(SLOW_LANE_MARKS)}), the fast lane starts none"
            )


# `make check` passes --hypothesis-profile=check: property tests scale their examples to it (tests/test_properties.py).
hypothesis_settings.register_profile("check", max_examples=20)

sys.addaudithook(_refuse_servers_in_the_fast_lane)  # audit hooks stay for the process: it checks the flag above


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Mark the running test as fast-lane (no slow-lane mark) for the audit hook, from setup to teardown."""
    fast = not any(item.get_closest_marker(mark) for mark in SLOW_LANE_MARKS)
    if fast:
        _fast_lane_test.append(item.nodeid)
    try:
        return (yield)
    finally:
        if fast:
            _fast_lane_test.clear()


@pytest.fixture(scope="session")
def ground_truth() -> dict:
    """tests/data/ground_truth.json."""
    return json.loads((DATA / "ground_truth.json").read_text())


@pytest.fixture(scope="session")
def photo_bytes():
    """Bytes of a labelled photo by file name, e.g. photo_bytes("astronaut.jpg")."""
    return lambda name: (DATA / "photos" / name).read_bytes()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The application with the default model and test settings, built once for the run."""
    # YOLOX first: tests know its boxes. No rate limit: the whole session's requests come from one address.
    cache = str(tmp_path_factory.mktemp("result-cache"))  # not the machine's shared cache folder
    return create_app({"TESTING": True, "MODELS": ["yolox_nano", "deimv2_femto"], "RATE_LIMIT": "", "CACHE_DIR": cache})


@pytest.fixture(scope="session")
def detector(app) -> Detector:
    """The embedded default model."""
    return app.extensions["models"].resolve("yolox_nano").detector


@pytest.fixture()
def client(app):
    """Flask test client."""
    return app.test_client()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright, shared by a module's tests (tools/browser_helpers.py has the flags)."""
    from playwright.sync_api import sync_playwright

    from tools.browser_helpers import launch_chromium

    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()
