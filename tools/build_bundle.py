"""Build the page's one script and one stylesheet: webapp/static/app.js and every module it imports, in one ES
module file; webapp/static/style.css and every part's stylesheet it imports, in one CSS file.

    .venv/bin/python -m tools.build_bundle [--check]      (or `make bundle`)

The modules in webapp/static/ are the source: edit them, then rebuild. The bundle (webapp/static/dist/page.js, and
its source map, which names the modules as served) is checked in, so that running the service needs no Node.js;
the page loads it in one request instead of one request per module. esbuild is pinned in tools/bundle/package.json
(and its lock file): `make bundle` installs it with `npm ci`. With --check, nothing is written: the exit status
says whether the checked-in files are what the pinned esbuild makes of the current modules (tests/test_bundle.py).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from webapp.static_assets import PAGE_BUNDLE, PAGE_ENTRY, PAGE_STYLES, PAGE_STYLESHEET

STATIC = Path("webapp") / "static"  # relative to the root the build runs in: the output names no absolute path
ESBUILD = ROOT / "tools" / "bundle" / "node_modules" / ".bin" / "esbuild"
# Not minified: brotli makes the difference ~4 KB, and the served file stays readable. utf8: text as written.
# The source map names the modules by their served URLs (relative to dist/); their text is served, so not copied in.
OPTIONS = (
    "--bundle",
    "--format=esm",
    "--charset=utf8",
    "--sourcemap",
    "--sources-content=false",
    "--log-level=warning",
)

STYLE_OPTIONS = ("--bundle", "--charset=utf8", "--log-level=warning")


def outputs(root: Path = ROOT) -> list[Path]:
    """The files a build writes, under `root`."""
    bundle = root / STATIC / PAGE_BUNDLE
    return [bundle, bundle.with_name(bundle.name + ".map"), root / STATIC / PAGE_STYLESHEET]


def build(root: Path = ROOT) -> list[Path]:
    """Run the pinned esbuild in `root` (a checkout, or a copy of its static folder); the files written."""
    if not ESBUILD.exists():
        raise SystemExit(f"{ESBUILD} is missing: run `make bundle` (npm ci in tools/bundle)")
    argv = [str(ESBUILD), (STATIC / PAGE_ENTRY).as_posix(), *OPTIONS, f"--outfile={(STATIC / PAGE_BUNDLE).as_posix()}"]
    subprocess.run(argv, cwd=root, check=True, timeout=120)
    # The stylesheets joined in their @import order (the cascade is the order), no source map: CSS reads as written.
    styles = [str(ESBUILD), (STATIC / PAGE_STYLES).as_posix(), *STYLE_OPTIONS]
    subprocess.run([*styles, f"--outfile={(STATIC / PAGE_STYLESHEET).as_posix()}"], cwd=root, check=True, timeout=120)
    return outputs(root)


def stale_files(root: Path = ROOT) -> list[str]:
    """The outputs under `root` that differ from a fresh build of its modules (made in a copy, `root` untouched)."""
    with tempfile.TemporaryDirectory(prefix="bundle-") as folder:
        copy = Path(folder)
        shutil.copytree(root / STATIC, copy / STATIC, ignore=shutil.ignore_patterns(Path(PAGE_BUNDLE).parts[0]))
        fresh = build(copy)
        return [
            ours.relative_to(root).as_posix()
            for ours, new in zip(outputs(root), fresh, strict=True)
            if not ours.exists() or ours.read_bytes() != new.read_bytes()
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in bundle is stale")
    args = parser.parse_args()
    if args.check:
        stale = stale_files()
        print(f"stale: {', '.join(stale)}; run `make bundle`" if stale else "the bundle is up to date")
        sys.exit(1 if stale else 0)
    for path in build():
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
