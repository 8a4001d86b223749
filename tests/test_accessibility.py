"""axe-core audits the page (empty, with results, gallery and camera, narrow) and /docs, in light and dark mode:
no serious or critical violation."""

from __future__ import annotations

import hashlib
import re

import pytest
from playwright.sync_api import Page, sync_playwright

from tools.browser_helpers import launch_chromium, open_page, wait_for_answer, wait_until
from tools.servers import ROOT, gunicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
PHOTOS = ROOT / "tests" / "data" / "photos"
FAKE_CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def server():
    with gunicorn_server(workers=1) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright, FAKE_CAMERA_ARGS)  # chromium's test pattern as the camera
        yield launched
        launched.close()


def audit(page: Page) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line each."""
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['impact']} {violation['id']}: {node['target']} {node['failureSummary']!r}"
        for violation in result["violations"]
        if violation["impact"] in BLOCKING
        for node in violation["nodes"]
    ]


def test_the_vendored_axe_is_the_pinned_release():
    readme = (AXE.parent / "README.md").read_text()
    digest = hashlib.sha256(AXE.read_bytes()).hexdigest()
    assert f"`{digest}`" in readme
    assert re.search(r"axe v(\d+\.\d+\.\d+)", AXE.read_text()[:200]).group(1) in readme


def audited_tab(browser, scheme: str) -> Page:
    """A new tab in the colour scheme, with axe loaded before the page's scripts (init scripts pass the CSP)."""
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE))
    return context.new_page()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations_on_the_page(browser, server, scheme):
    page = audited_tab(browser, scheme)
    open_page(page, server.url)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    assert audit(page) == []

    # With results: boxes, table, class chips, the code panel open.
    page.get_by_role("button", name="Espresso cup").click()
    assert wait_for_answer(page) == "done"
    page.click("#code-panel summary")
    page.click('#class-chips .chip[data-class-name="cup"]')
    assert wait_for_answer(page) == "done"
    assert audit(page) == []

    # A gallery and the live camera.
    page.set_input_files("#file-input", [str(PHOTOS / "astronaut.jpg"), str(PHOTOS / "grace_hopper.jpg")])
    page.wait_for_selector('#gallery[data-done="2"]', state="attached", timeout=30_000)
    page.click("#camera-start")
    wait_until(page, "() => Number(document.getElementById('camera').dataset.frames) >= 1", timeout=30)
    assert audit(page) == []

    page.set_viewport_size({"width": 390, "height": 844})  # a phone's width
    assert audit(page) == []
    page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations_on_the_api_docs(browser, server, scheme):
    page = audited_tab(browser, scheme)
    page.goto(f"{server.url}/docs")
    page.wait_for_selector('#api-docs[data-status="ready"]', state="attached", timeout=20_000)
    assert audit(page) == []
    page.context.close()
