"""A visit to the page or to /docs over an emulated slow link: when it could be used, what went over the network.

Shared by `tools/bench_page_network.py` (first and repeat visits, /docs) and the tests of static serving.
Clocks are the caller's (time.monotonic, polled every POLL_S): the same for a page that queues early clicks
and one that loses them, whatever attributes its scripts set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from playwright.sync_api import BrowserContext, Page

POLL_S = 0.05
EXAMPLE = "button.example"


@dataclass
class Visit:
    """One navigation: seconds from its start, and the responses that came over the network."""

    visible: float = float("nan")  # the first example button on screen
    usable: float = float("nan")  # a click on it was taken: the page asked for the example's photo
    boxes: float = float("nan")  # its boxes drawn: body[data-status="done"]
    ready: float = float("nan")  # /docs: Swagger UI rendered (#api-docs[data-status="ready"])
    clicks: int = 0
    responses: dict[str, int] = field(default_factory=dict)  # request id -> bytes received (headers included)
    urls: dict[str, str] = field(default_factory=dict)  # request id -> URL

    @property
    def requests(self) -> int:
        """Requests answered over the network (a 304 included); those served from the HTTP cache receive 0 bytes."""
        return sum(1 for size in self.responses.values() if size > 0)

    @property
    def kilobytes(self) -> float:
        return sum(self.responses.values()) / 1024

    def network_urls(self) -> list[str]:
        return [self.urls.get(rid, "?") for rid, size in self.responses.items() if size > 0]


def slow_tab(context: BrowserContext, kbit: float, latency_ms: float) -> tuple[Page, Visit]:
    """A new tab whose link is `kbit` kbit/s both ways with `latency_ms` (DevTools emulation), recording what it
    receives over the network."""
    page = context.new_page()
    visit = Visit()
    cdp = context.new_cdp_session(page)
    cdp.on(
        "Network.requestWillBeSent", lambda event: visit.urls.__setitem__(event["requestId"], event["request"]["url"])
    )
    cdp.on(
        "Network.loadingFinished",
        lambda event: visit.responses.__setitem__(event["requestId"], int(event["encodedDataLength"])),
    )
    cdp.send("Network.enable")
    rate = kbit * 1000 / 8
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency_ms, "downloadThroughput": rate, "uploadThroughput": rate},
    )
    return page, visit


def visit_page(context: BrowserContext, url: str, kbit: float, latency_ms: float, timeout_s: float = 60) -> Visit:
    """Open the page and click the first example as soon as it shows, again every POLL_S until the click is
    taken (a page whose scripts have not run yet loses it); then wait for its boxes."""
    page, visit = slow_tab(context, kbit, latency_ms)
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    started = time.monotonic()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(EXAMPLE, state="visible", timeout=timeout_s * 1000)
    visit.visible = time.monotonic() - started
    photo = page.get_attribute(EXAMPLE, "data-src")
    while time.monotonic() - started < timeout_s:
        page.click(EXAMPLE, no_wait_after=True, timeout=timeout_s * 1000)
        visit.clicks += 1
        page.wait_for_timeout(POLL_S * 1000)
        if any(asked_url.endswith(photo) for asked_url in asked) or page_status(page) in ("busy", "done"):
            visit.usable = time.monotonic() - started
            break
    while time.monotonic() - started < timeout_s and page_status(page) not in ("done", "error"):
        page.wait_for_timeout(POLL_S * 1000)
    if page_status(page) == "done":
        visit.boxes = time.monotonic() - started
    page.wait_for_timeout(300)  # the last loadingFinished events
    page.close()
    return visit


def visit_docs(context: BrowserContext, url: str, kbit: float, latency_ms: float, timeout_s: float = 60) -> Visit:
    """Open /docs and wait until Swagger UI has rendered the API."""
    page, visit = slow_tab(context, kbit, latency_ms)
    started = time.monotonic()
    page.goto(url, wait_until="commit")
    page.wait_for_selector('#api-docs[data-status="ready"]', state="attached", timeout=timeout_s * 1000)
    visit.ready = time.monotonic() - started
    page.wait_for_timeout(300)
    page.close()
    return visit


def page_status(page: Page) -> str:
    return page.evaluate("document.body?.dataset.status ?? ''")
