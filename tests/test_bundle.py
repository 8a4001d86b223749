"""The page's bundle (webapp/static/dist/page.js, checked in) is what the pinned esbuild makes of the current
modules, so that a module edited without `make bundle` fails here rather than being silently not served."""

from __future__ import annotations

import json
import shutil

import pytest

from tools.build_bundle import ESBUILD, STATIC, outputs, stale_files
from tools.servers import ROOT
from webapp.app import create_app
from webapp.static_assets import PAGE_BUNDLE, PAGE_ENTRY, PAGE_STYLES, StaticAssets


@pytest.fixture(scope="module", autouse=True)
def esbuild_installed():
    assert ESBUILD.exists(), "esbuild is not installed: `make test` (or `make bundle`) runs `npm ci` in tools/bundle"


def test_the_checked_in_bundle_is_what_the_pinned_esbuild_makes_of_the_modules():
    assert stale_files() == [], "the page's modules changed since the bundle was built: run `make bundle`"


def test_a_changed_module_makes_the_bundle_stale(tmp_path):
    """The check above can fail: a module changed in a copy of the checkout makes the script and its map differ, a
    changed stylesheet the joined stylesheet too."""
    shutil.copytree(ROOT / STATIC, tmp_path / STATIC)
    assert stale_files(tmp_path) == []
    with (tmp_path / STATIC / PAGE_ENTRY).open("a") as module:
        module.write('\nconsole.debug("changed");\n')
    script_outputs = [path.relative_to(ROOT).as_posix() for path in outputs()[:2]]
    assert stale_files(tmp_path) == script_outputs  # the stylesheet did not change
    with (tmp_path / STATIC / PAGE_STYLES).open("a") as styles:
        styles.write("\nbody { margin: 0; }\n")
    assert stale_files(tmp_path) == [path.relative_to(ROOT).as_posix() for path in outputs()]
    (tmp_path / STATIC / "dist" / "page.js").unlink()
    assert outputs(tmp_path)[0].relative_to(tmp_path).as_posix() in stale_files(tmp_path)


def test_the_bundle_holds_the_entry_and_every_module_it_imports_and_its_map_names_them():
    """The source map's sources, resolved from dist/, are exactly the module graph of the entry: the bundle left
    none out, and DevTools finds each module where the server serves it."""
    assets = StaticAssets(ROOT / STATIC)
    bundle, source_map, _ = outputs()
    graph = {PAGE_ENTRY, *assets.reachable(PAGE_ENTRY)}
    sources = json.loads(source_map.read_text())["sources"]
    assert {source.removeprefix("../") for source in sources} == graph
    assert all(source.startswith("../") for source in sources)
    assert bundle.read_text().rstrip().endswith(f"//# sourceMappingURL={source_map.name}")
    assert len(graph) >= 10 and assets.reachable(bundle.relative_to(ROOT / STATIC).as_posix()) == []


def test_the_source_map_is_served_as_json_where_the_bundle_names_it():
    client = create_app({"TESTING": True, "LOAD_MODEL": False, "RATE_LIMIT": ""}).test_client()
    response = client.get(f"/static/{PAGE_BUNDLE}.map", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.data == outputs()[1].read_bytes()
