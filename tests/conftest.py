"""Shared fixtures: the app and client built from create_app, the real models, and the labelled photos."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference import Detector
from webapp.app import create_app

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


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
    return app.extensions["models"].get("yolox_nano").detector


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
