"""Static files as a CDN would serve them: hashed URLs cached a year, compressed answers, modules that name
their imports' hashed URLs, the page's modulepreload links from the import graph; HTML revalidated, not kept."""

from __future__ import annotations

import gzip
import re
import shutil
import threading
from html.parser import HTMLParser

import brotli
import pytest
import requests

from serving.contract import SECURITY_HEADERS
from tools.browser_helpers import open_page, watch_page
from tools.page_visits import slow_tab
from tools.servers import ROOT, gunicorn_server
from webapp.app import create_app
from webapp.static_assets import IMMUTABLE, PAGE_STYLESHEET, REVALIDATE, StaticAssets

STATIC = ROOT / "webapp" / "static"
HASHED_URL = re.compile(r"/static/(?:[\w./-]+/)?[\w.-]+\.[0-9a-f]{12}(?:\.[\w]+)?")
IMPORT_SPEC = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)["'](\.{1,2}/[^"']+)["']""", re.MULTILINE)
BUNDLE = "vendor/swagger-ui/swagger-ui-bundle.js"


@pytest.fixture(scope="module")
def client():
    """The app without models: static files and pages need none."""
    return create_app({"TESTING": True, "LOAD_MODEL": False, "RATE_LIMIT": ""}).test_client()


class Links(HTMLParser):
    """src and href of a page's elements, with the rel of <link>s."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []  # (tag, rel, url)

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        for key in ("src", "href", "data-src"):
            if attributes.get(key):
                self.found.append((tag, attributes.get("rel") or "", attributes[key]))


def page_links(client, path: str) -> list[tuple[str, str, str]]:
    parser = Links()
    parser.feed(client.get(path).get_data(as_text=True))
    return parser.found


def static_urls(client, path: str) -> list[str]:
    return [url for _, _, url in page_links(client, path) if url.startswith("/static/")]


def decoded(response) -> bytes:
    encoding = response.headers.get("Content-Encoding")
    return {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda data: data}[encoding](response.data)


def assert_security_headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_pages_name_static_files_by_hashed_urls_cached_for_a_year(client, path):
    urls = static_urls(client, path)
    assert urls and all(HASHED_URL.fullmatch(url) for url in urls), urls
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        assert response.headers["ETag"]
        assert_security_headers(response)


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("br", "br"),
        ("gzip", "gzip"),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip;q=1, br;q=0.5", "gzip"),
        ("*", "br"),
        ("identity", None),
    ],
)
def test_text_files_are_compressed_as_the_client_accepts(client, accept, encoding):
    plain = client.get(f"/static/{PAGE_STYLESHEET}", headers={"Accept-Encoding": "identity"})
    assert plain.data == (STATIC / PAGE_STYLESHEET).read_bytes()
    response = client.get(f"/static/{PAGE_STYLESHEET}", headers={"Accept-Encoding": accept})
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.vary
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert decoded(response) == plain.data
    if encoding:
        assert len(response.data) < len(plain.data) / 3


def test_each_encoding_has_its_own_etag_and_a_revalidation_gets_304(client):
    etags = {
        enc: client.get("/static/app.js", headers={"Accept-Encoding": enc}).headers["ETag"]
        for enc in ("br", "gzip", "identity")
    }
    assert len(set(etags.values())) == 3
    again = client.get("/static/app.js", headers={"Accept-Encoding": "br", "If-None-Match": etags["br"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etags["br"] and again.headers["Cache-Control"] == REVALIDATE
    assert_security_headers(again)
    stale = client.get("/static/app.js", headers={"Accept-Encoding": "br", "If-None-Match": etags["gzip"]})
    assert stale.status_code == 200 and stale.headers["Content-Encoding"] == "br"


def test_images_are_not_compressed_again(client):
    url = next(url for url in static_urls(client, "/") if url.endswith(".jpg"))
    response = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in response.headers and "Accept-Encoding" not in response.vary
    assert response.headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    "garbage",
    [
        "\x00\xff;;q=;;,,",
        "br;q=nan, gzip;q=abc",
        "gzip;q=1e9",
        "br;q=-1",
        ";",
        ",,,",
        "br;q=0, gzip;q=0",
        "x" * 4000,
        "gzip;q=0.5;q=1;level=9=9",
    ],
)
def test_unreadable_accept_encoding_gets_an_answer_it_can_read(client, garbage):
    plain = (STATIC / "app.js").read_bytes()
    response = client.get("/static/app.js", headers={"Accept-Encoding": garbage})
    assert response.status_code == 200
    if "Content-Encoding" in response.headers:  # only for a header that names an encoding with q > 0
        assert garbage == "gzip;q=0.5;q=1;level=9=9" and response.headers["Content-Encoding"] == "gzip"
    assert decoded(response).decode().splitlines()[0] == plain.decode().splitlines()[0]
    page = client.get("/", headers={"Accept-Encoding": garbage})
    assert page.status_code == 200 and b"<!doctype html>" in decoded(page)


def test_the_plain_name_answers_but_is_revalidated(client):
    hashed = f"/static/{client.application.extensions['static_assets'].url_name('app.js')}"
    plain = client.get("/static/app.js")
    assert plain.data == client.get(hashed).data
    assert plain.headers["Cache-Control"] == REVALIDATE
    stale = client.get("/static/app.000000000000.js")  # a page from before a deploy
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == REVALIDATE and stale.data == plain.data
    for missing in (
        "/static/nothing.js",
        "/static/nothing.000000000000.js",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/vendor",
    ):
        response = client.get(missing)
        assert response.status_code == 404, missing
        assert_security_headers(response)


def test_the_page_loads_one_bundled_script_that_imports_nothing(client):
    """Two scripts: early-input.js, then the bundle of the page's modules (webapp/static/dist, tools/build_bundle.py),
    by hashed URLs; the bundle imports nothing, so nothing is left to preload."""
    links = page_links(client, "/")
    scripts = [url for tag, _, url in links if tag == "script"]
    assert [HASHED_URL.fullmatch(url) is not None for url in scripts] == [True, True]
    assert scripts[0].startswith("/static/early-input.") and scripts[1].startswith("/static/dist/page.")
    bundle = client.get(scripts[1])
    assert bundle.headers["Cache-Control"] == IMMUTABLE and b"function main(" in decoded(bundle)
    assert IMPORT_SPEC.findall(decoded(bundle).decode()) == []
    assert [url for tag, rel, url in links if tag == "link" and rel == "modulepreload"] == []


def test_served_modules_import_hashed_urls_and_their_preloads_are_the_whole_graph(client):
    """The modules stay served (the bundle's source map names them): following the imports of the served app.js
    finds only hashed, immutable URLs, and module_preloads lists exactly them (it follows the code, not a list)."""
    assets = client.application.extensions["static_assets"]
    entry = f"/static/{assets.url_name('app.js')}"
    found, waiting = set(), [entry]
    while waiting:
        url = waiting.pop()
        response = client.get(url)
        assert response.headers["Cache-Control"] == IMMUTABLE, url
        for spec in IMPORT_SPEC.findall(response.get_data(as_text=True)):
            target = requests.compat.urljoin(url, spec)
            assert HASHED_URL.fullmatch(target), (url, spec)
            if target not in found:
                found.add(target)
                waiting.append(target)
    with client.application.test_request_context():
        preloads = assets.module_preloads("app.js")
    assert len(found) >= 10 and sorted(preloads) == sorted(found)


def test_a_changed_file_gets_a_new_url_and_so_does_every_module_that_imports_it(tmp_path):
    folder = tmp_path / "static"
    shutil.copytree(STATIC, folder)
    before = StaticAssets(folder)
    importers = {name for name in before.assets if "api.js" in before.reachable(name)}
    assert {"app.js", "batch-api.js"} <= importers
    with (folder / "api.js").open("a") as module:
        module.write("\n// changed\n")
    after = StaticAssets(folder)
    changed = {name for name in before.assets if before.url_name(name) != after.url_name(name)}
    assert changed == importers | {"api.js"}
    assert after.assets["app.js"].body != before.assets["app.js"].body  # names the new api.js
    assert after.url_name("api.js").encode() in after.assets["batch-api.js"].body


def test_an_import_cycle_is_hashed_and_rewritten(tmp_path):
    (tmp_path / "a.js").write_text('import { b } from "./b.js";\nexport const a = 1;\n')
    (tmp_path / "b.js").write_text("import { a } from './a.js';\nexport const b = () => import(\"./c.js\");\n")
    (tmp_path / "c.js").write_text("export const c = 3;\n")
    assets = StaticAssets(tmp_path)
    assert assets.reachable("a.js", dynamic=False) == ["b.js"]
    assert assets.assets["b.js"].dynamic_imports == ["c.js"]
    body_b = assets.assets["b.js"].body.decode()
    assert f"'./{assets.url_name('a.js')}'" in body_b and f'import("./{assets.url_name("c.js")}")' in body_b
    (tmp_path / "c.js").write_text("export const c = 4;\n")
    changed = StaticAssets(tmp_path)
    assert all(changed.url_name(name) != assets.url_name(name) for name in ("a.js", "b.js", "c.js"))


def test_html_is_compressed_and_revalidated_never_kept(client):
    response = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "br" and "Accept-Encoding" in response.vary
    assert response.headers["Cache-Control"] == REVALIDATE and "immutable" not in response.headers["Cache-Control"]
    assert b"<!doctype html>" in decoded(response)
    again = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br", "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert_security_headers(again)


def test_the_openapi_document_is_compressed_and_api_posts_are_not(client):
    document = client.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert document.headers["Content-Encoding"] == "gzip" and len(document.data) < len(decoded(document)) / 3
    assert decoded(document).startswith(b"{")
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})  # a few bytes: not worth it
    assert "Content-Encoding" not in small.headers
    post = client.post("/api/predict", json={"requests": []}, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in post.headers


def test_docs_assets_are_compressed(client):
    """The swagger-ui bundle (1.7 MB as it is) is what /docs waits for on a slow link."""
    raw = (STATIC / BUNDLE).read_bytes()
    url = next(url for url in static_urls(client, "/docs") if "swagger-ui-bundle" in url)
    for encoding, at_most in (("br", 0.25), ("gzip", 0.3)):
        response = client.get(url, headers={"Accept-Encoding": encoding})
        assert response.headers["Content-Encoding"] == encoding
        assert len(response.data) < at_most * len(raw)
        assert decoded(response) == raw
    css = next(url for url in static_urls(client, "/docs") if "swagger-ui." in url and url.endswith(".css"))
    assert client.get(css, headers={"Accept-Encoding": "br"}).headers["Content-Encoding"] == "br"


def test_a_large_file_goes_at_a_fast_level_first_then_at_the_best():
    assets = StaticAssets(STATIC)
    bundle = assets.assets[BUNDLE]
    fast, fast_etag = bundle.encoded_body("br")
    assert fast_etag.endswith("-br9")
    for thread in threading.enumerate():
        if thread.name == f"brotli {BUNDLE}":
            thread.join(timeout=120)
    best, best_etag = bundle.encoded_body("br")
    assert best_etag.endswith("-br11") and len(best) < len(fast)
    assert brotli.decompress(best) == brotli.decompress(fast) == bundle.raw
    _, small_etag = assets.assets[PAGE_STYLESHEET].encoded_body("br")
    assert small_etag.endswith("-br11")


@pytest.mark.server
def test_under_the_procfiles_gunicorn_hashed_files_go_compressed():
    """The real worker (serving/worker.py) serves the static endpoint like the test client."""
    with gunicorn_server(workers=1) as server:
        page = requests.get(server.url + "/", headers={"Accept-Encoding": "br"}, timeout=10)
        assert page.headers["Content-Encoding"] == "br" and page.headers["Cache-Control"] == REVALIDATE
        docs = requests.get(server.url + "/docs", timeout=10)
        url = next(u for u in HASHED_URL.findall(docs.text) if "swagger-ui-bundle" in u)
        response = requests.get(server.url + url, headers={"Accept-Encoding": "br"}, timeout=10, stream=True)
        body = response.raw.read(decode_content=False)
        assert response.headers["Content-Encoding"] == "br" and response.headers["Cache-Control"] == IMMUTABLE
        assert int(response.headers["Content-Length"]) == len(body)
        assert brotli.decompress(body) == (STATIC / BUNDLE).read_bytes()
        head = requests.head(server.url + url, headers={"Accept-Encoding": "br"}, timeout=10)
        assert head.headers["Content-Length"] == response.headers["Content-Length"]
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value


@pytest.mark.browser
@pytest.mark.server
def test_in_chromium_a_repeat_visit_fetches_no_static_file_and_docs_use_their_preload(browser):
    """A returning visitor's browser asks only for the page (a 304) and the API; the modules load under the CSP;
    /docs's preloaded OpenAPI document is the one Swagger UI uses (Chromium warns of a preload left unused)."""
    fast = (1_000_000, 0)  # kbit/s, latency: the cache is measured here, not the link
    with gunicorn_server(workers=1) as server:
        context = browser.new_context()
        page, first = slow_tab(context, *fast)
        problems = watch_page(page)
        open_page(page, server.url)
        assert page.evaluate("window.__cspViolations") == [] and problems.console_errors == []
        page.wait_for_timeout(300)
        fetched = [url for url in first.network_urls() if "/static/" in url]
        assert len(fetched) >= 5 and [url for url in fetched if "/static/dist/page." in url], fetched
        page, repeat = slow_tab(context, *fast)
        open_page(page, server.url)
        page.wait_for_timeout(300)
        asked = [url.removeprefix(server.url) for url in repeat.network_urls()]
        assert "/" in asked and not [url for url in asked if url.startswith("/static/")], asked
        page, docs = slow_tab(context, *fast)
        problems = watch_page(page)
        page.goto(f"{server.url}/docs")
        page.wait_for_selector('#api-docs[data-status="ready"]', state="attached", timeout=20_000)
        page.wait_for_timeout(3500)  # Chromium's unused-preload warning comes 3 s after load
        assert [url for url in docs.network_urls() if url.endswith("/api/openapi.json")] == [
            f"{server.url}/api/openapi.json"
        ]
        assert problems.console_errors == [] and problems.page_errors == []
        context.close()
