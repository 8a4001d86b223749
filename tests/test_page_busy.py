"""The page over its client's share (RATE_LIMIT): a 429 shows "busy, retrying in N s", the page waits the server's
Retry-After without sending anything, then retries by itself and shows the answer. Real gunicorn, real chromium."""

from __future__ import annotations

import itertools
import time

import pytest
from playwright.sync_api import sync_playwright

from tools.browser_helpers import launch_chromium, open_page, wait_for_answer, wait_until, watch_page
from tools.servers import ROOT, gunicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

COFFEE = ROOT / "tests" / "data" / "photos" / "coffee.jpg"
FAKE_CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]  # chromium's test pattern


@pytest.fixture(scope="module")
def server():
    env = {"RATE_LIMIT": "2 per 5 seconds", "MODELS": "yolox_nano", "MAX_BATCH": "2"}  # a gallery of 4: two batches
    with gunicorn_server(env=env, workers=1) as running:
        yield running


def test_a_429_shows_busy_then_the_page_retries_after_retry_after(server):
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        problems = watch_page(page)
        answers: list[tuple[float, int, str]] = []  # (time, status, Retry-After)
        page.on(
            "response",
            lambda r: (
                r.url.endswith("/api/predict")
                and answers.append((time.monotonic(), r.status, r.headers.get("retry-after", "")))
            ),
        )
        open_page(page, server.url)
        page.set_input_files("#file-input", str(COFFEE))
        assert wait_for_answer(page) == "done"
        busy = "#message:has-text('The server is busy, retrying in')"
        for value in ("0.2", "0.25", "0.3", "0.35", "0.4", "0.45"):  # two images per 5 s: soon one too many
            page.fill("#score_th", value)
            page.wait_for_selector(f'body[data-status="done"], {busy}', state="attached", timeout=10_000)
            if page.locator(busy).is_visible():
                break
        else:
            raise AssertionError(f"no 429 after {len(answers)} answers: {answers}")
        assert page.evaluate("document.body.dataset.status") == "busy"  # waiting, not failed: no Retry button
        assert page.locator("#retry").is_hidden()
        assert wait_for_answer(page) == "done"
        assert page.locator("#message").is_hidden()
        browser.close()

    statuses = [status for _, status, _ in answers]
    assert statuses[:2] == [200, 200] and statuses[-1] == 200 and set(statuses) == {200, 429}
    for (refused_at, status, retry_after), (next_at, _, _) in itertools.pairwise(answers):
        if status == 429:  # nothing was sent before the server's Retry-After had passed
            assert next_at - refused_at >= int(retry_after) - 0.5
    assert problems.page_errors == []


def test_the_camera_waits_out_a_429_then_goes_on_with_fewer_frames(server):
    """The camera sends frames at the server's pace, so it soon reaches the limit: it shows the wait, sends nothing
    before Retry-After (and at least half a second) has passed, and then goes on answering frames."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, FAKE_CAMERA_ARGS)
        page = browser.new_page()
        problems = watch_page(page)
        answers: list[tuple[float, int, str]] = []
        page.on(
            "response",
            lambda r: (
                r.url.endswith("/api/predict")
                and answers.append((time.monotonic(), r.status, r.headers.get("retry-after", "")))
            ),
        )
        open_page(page, server.url)
        page.click("#camera-start")
        page.wait_for_selector("#camera-error:has-text('The server is busy, retrying in')", timeout=20_000)
        frames = int(page.get_attribute("#camera", "data-frames") or 0)
        wait_until(page, "(n) => Number(document.getElementById('camera').dataset.frames) > n", frames, timeout=20)
        page.click("#camera-stop")
        browser.close()

    assert any(status == 429 for _, status, _ in answers) and answers[-1][1] == 200
    for (refused_at, status, retry_after), (next_at, _, _) in itertools.pairwise(answers):
        if status == 429:
            assert next_at - refused_at >= max(int(retry_after), 0.5) - 0.3
    assert problems.page_errors == []


def test_a_gallery_over_the_limit_waits_and_finishes(server):
    """Four images in batches of two against two images per 5 s: the second batch gets a 429, the gallery says it
    is waiting, then sends that batch again and every image is answered."""
    photos = [
        ROOT / "tests" / "data" / "photos" / name
        for name in ("astronaut.jpg", "coffee.jpg", "chelsea.png", "rocket.jpg")
    ]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        problems = watch_page(page)
        statuses: list[int] = []
        page.on("response", lambda r: r.url.endswith("/api/predict") and statuses.append(r.status))
        open_page(page, server.url)
        page.set_input_files("#file-input", [str(photo) for photo in photos])
        page.wait_for_selector("#gallery-status:has-text('The server is busy, retrying in')", timeout=20_000)
        page.wait_for_selector('#gallery[data-done="4"]', state="attached", timeout=30_000)
        status_text = page.text_content("#gallery-status")
        states = page.locator("#gallery-list .gallery-item").evaluate_all(
            "(items) => items.map((i) => i.dataset.state)"
        )
        browser.close()
    assert 429 in statuses and statuses[-1] == 200
    assert states == ["done"] * 4 and status_text == "4 images: 4 done."
    assert problems.page_errors == []
