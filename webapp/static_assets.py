"""Static files served as a CDN would: content-hashed URLs cached for a year, compressed once per process.

- `url_for('static', filename='app.js')` gives `/static/app.<hash>.js`; that URL's bytes never change, so it is
  served with `Cache-Control: public, max-age=31536000, immutable` and a repeat visit asks nothing for it.
- The hash covers a file and every file it imports, directly or not, and the served JavaScript names its relative
  imports by their hashed names: `import ... from "./api.js"` is served as `from "./api.<hash>.js"`. A changed
  module thus changes the URL of every module that leads to it, and the page never mixes old and new modules.
- The plain name (`/static/app.js`) still answers, with the same bytes, `Cache-Control: no-cache` and an ETag;
  so does an unknown hash of a known file (a page from before a deploy), so that no year-long cache keeps it.
- Text files are compressed on first request (brotli or gzip, as the client accepts) and kept in memory; large
  ones get brotli's best level from a thread meanwhile (BEST_NOW_MAX_BYTES).
- The page loads one script, PAGE_BUNDLE: PAGE_ENTRY and every module it imports, bundled by esbuild
  (tools/build_bundle.py; checked in). The modules stay the source and are served too (the bundle's source map
  names them). `module_preloads(name)` lists the hashed URLs of every module a script imports, for
  `<link rel="modulepreload">`: none for the bundle; for a module graph, the whole graph at once instead of one
  import level per round trip.
- HTML and JSON answers to GET are compressed too (see `compress_response`), with a strong ETag.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import posixpath
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, Response, abort, request, url_for

try:
    import brotli
except ImportError:  # requirements.txt pins it; without it, gzip only
    brotli = None

IMMUTABLE = "public, max-age=31536000, immutable"  # a year: the longest that caches honour
REVALIDATE = "no-cache"  # cached, but asked again (If-None-Match) before each use
HASH_CHARS = 12
COMPRESSIBLE_TYPES = frozenset(
    {
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "image/svg+xml",
        "text/plain",
        "text/markdown",
        "text/html",
    }
)
COMPRESSED_ANSWER_TYPES = frozenset({"text/html", "application/json"})  # what the views and the API answer to GET
MIN_COMPRESS_BYTES = 1024  # smaller answers fit a packet or two either way
# Brotli's best quality (11) takes ~3 s per MB of one core: a larger file is first served at quality 9 (0.1 s per MB)
# while a thread makes quality 11 (brotli releases the GIL), used from then on. gzip -9 is fast at any size.
BEST_NOW_MAX_BYTES = 64 * 1024
FAST_BROTLI, BEST_BROTLI = 9, 11
ENCODINGS = ("br", "gzip") if brotli else ("gzip",)  # in the server's order of preference
PAGE_ENTRY = "app.js"  # the page's modules start here
PAGE_BUNDLE = "dist/page.js"  # what the page loads: PAGE_ENTRY's module graph in one file (one request, not ~25)
PAGE_STYLES = "style.css"  # the page's stylesheets, one per part, @imported in cascade order
PAGE_STYLESHEET = "dist/page.css"  # what the page loads: PAGE_STYLES joined in one file
_MEMO_ANSWERS = 32  # compressed HTML/JSON answers kept, by their bytes' sha256

# A relative specifier after `from`, `import(` or a bare `import`: the module graph of the page's own files.
_IMPORT = re.compile(
    r"""(?P<lead>\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)(?P<q>["'])(?P<spec>\.{1,2}/[^"'\n]+)(?P=q)""", re.MULTILINE
)
_HASHED = re.compile(rf"(?P<stem>.+)\.[0-9a-f]{{{HASH_CHARS}}}(?P<ext>\.[^./]+)")

mimetypes.add_type("text/javascript", ".js")  # the HTML standard's type for scripts and modules
mimetypes.add_type("text/markdown", ".md")
mimetypes.add_type("application/json", ".map")  # the bundle's source map, for DevTools


@dataclass
class Asset:
    """One file of the static folder, as served."""

    name: str  # relative to the folder, "/"-separated
    raw: bytes
    mimetype: str
    imports: list[str] = field(default_factory=list)  # static imports, by name
    dynamic_imports: list[str] = field(default_factory=list)
    body: bytes = b""  # what is served (JavaScript: imports renamed to hashed names)
    digest: str = ""
    url_name: str = ""  # the hashed name
    encoded: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # encoding -> (bytes, ETag); on first use

    @property
    def compressible(self) -> bool:
        return self.mimetype in COMPRESSIBLE_TYPES and len(self.body) >= MIN_COMPRESS_BYTES

    def encoded_body(self, encoding: str) -> tuple[bytes, str]:
        """The body in `encoding` and its ETag (which names the level: the bytes differ between levels)."""
        if encoding not in self.encoded:
            best = encoding != "br" or len(self.body) <= BEST_NOW_MAX_BYTES
            self._encode(encoding, BEST_BROTLI if best else FAST_BROTLI)
            if not best:
                threading.Thread(
                    target=self._encode, args=(encoding, BEST_BROTLI), daemon=True, name=f"brotli {self.name}"
                ).start()
        return self.encoded[encoding]

    def _encode(self, encoding: str, quality: int) -> None:
        data = brotli.compress(self.body, quality=quality) if encoding == "br" else gzip.compress(self.body, 9, mtime=0)
        self.encoded[encoding] = data, f"{self.digest[:32]}-{encoding}{quality if encoding == 'br' else ''}"


class StaticAssets:
    """The static folder read once: hashed names, rewritten imports; compressed bodies made on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.assets: dict[str, Asset] = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self.assets[name] = Asset(name, path.read_bytes(), mimetype)
        for asset in self.assets.values():
            if asset.mimetype == "text/javascript":
                self._find_imports(asset)
        for asset in self.assets.values():
            asset.digest = self._digest(asset)
            stem, ext = posixpath.splitext(asset.name)
            asset.url_name = f"{stem}.{asset.digest[:HASH_CHARS]}{ext}"
        for asset in self.assets.values():
            asset.body = self._rewrite_imports(asset) if asset.imports or asset.dynamic_imports else asset.raw
        self.by_url_name = {asset.url_name: asset for asset in self.assets.values()}

    # -- the module graph

    def _resolve(self, importer: str, spec: str) -> str | None:
        name = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
        return name if name in self.assets else None

    def _find_imports(self, asset: Asset) -> None:
        text = asset.raw.decode("utf-8", errors="replace")
        for match in _IMPORT.finditer(text):
            target = self._resolve(asset.name, match["spec"])
            if target is None:
                continue
            found = asset.dynamic_imports if "(" in match["lead"] else asset.imports
            if target not in found:
                found.append(target)

    def reachable(self, name: str, *, dynamic: bool = True) -> list[str]:
        """Every module `name` imports, directly or not, in the order found (itself excluded)."""
        seen, order, stack = {name}, [], [name]
        while stack:
            asset = self.assets[stack.pop()]
            for target in asset.imports + (asset.dynamic_imports if dynamic else []):
                if target not in seen:
                    seen.add(target)
                    order.append(target)
                    stack.append(target)
        return order

    def _digest(self, asset: Asset) -> str:
        """sha256 of the file and of every file it reaches: cycles in the graph need no special case."""
        digest = hashlib.sha256(asset.raw)
        for name in sorted(self.reachable(asset.name)):
            digest.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(self.assets[name].raw).digest())
        return digest.hexdigest()

    def _rewrite_imports(self, asset: Asset) -> bytes:
        def renamed(match: re.Match) -> str:
            target = self._resolve(asset.name, match["spec"])
            if target is None:
                return match[0]
            spec = posixpath.relpath(self.assets[target].url_name, posixpath.dirname(asset.name) or ".")
            spec = spec if spec.startswith("../") else f"./{spec}"
            return f"{match['lead']}{match['q']}{spec}{match['q']}"

        return _IMPORT.sub(renamed, asset.raw.decode("utf-8")).encode("utf-8")

    # -- names

    def url_name(self, name: str) -> str:
        """The hashed name of a file (unchanged for a name that is not in the folder)."""
        asset = self.assets.get(name)
        return asset.url_name if asset else name

    def module_preloads(self, entry: str) -> list[str]:
        """Hashed URLs of every module `entry` imports statically, for <link rel="modulepreload">."""
        return [url_for("static", filename=name) for name in self.reachable(entry, dynamic=False)]

    # -- serving

    def lookup(self, filename: str) -> tuple[Asset, bool]:
        """The file a URL names, and whether the URL is its current hashed one (immutable)."""
        if asset := self.by_url_name.get(filename):
            return asset, True
        if asset := self.assets.get(filename):
            return asset, False
        if (hashed := _HASHED.fullmatch(filename)) and (asset := self.assets.get(hashed["stem"] + hashed["ext"])):
            return asset, False  # another version's URL: the current bytes, never cached as that version
        abort(404)

    def serve(self, filename: str) -> Response:
        """The static endpoint's view."""
        asset, immutable = self.lookup(filename)
        encoding = chosen_encoding() if asset.compressible else None
        body, etag = asset.encoded_body(encoding) if encoding else (asset.body, f"{asset.digest[:32]}-identity")
        response = Response(body, mimetype=asset.mimetype)
        response.headers["Cache-Control"] = IMMUTABLE if immutable else REVALIDATE
        response.set_etag(etag)
        if asset.compressible:
            response.vary.add("Accept-Encoding")
        if encoding:
            response.headers["Content-Encoding"] = encoding
        return response.make_conditional(request)


def chosen_encoding() -> str | None:
    """The encoding the request accepts best ("br" or "gzip"), or None. Unreadable Accept-Encoding entries
    are skipped by werkzeug's parser: garbage means no compression, never an error."""
    accepted = request.accept_encodings
    best = max(ENCODINGS, key=lambda e: (accepted.quality(e), -ENCODINGS.index(e)))
    return best if accepted.quality(best) > 0 else None


_answers: OrderedDict[tuple[bytes, str], bytes] = OrderedDict()


def compress_response(response: Response) -> Response:
    """HTML and JSON answers to GET: compressed as the client accepts, with an ETag so a revisit can get a 304.

    Only GET and HEAD: API answers to POST carry the caller's own data and stay as they are. The page's HTML
    gets `Cache-Control: no-cache`: it names the current hashed URLs, so it must never be taken from a cache
    unasked."""
    if (
        request.method not in ("GET", "HEAD")
        or response.status_code != 200
        or response.direct_passthrough
        or response.is_streamed
        or response.mimetype not in COMPRESSED_ANSWER_TYPES
        or "Content-Encoding" in response.headers
    ):
        return response
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", REVALIDATE)
    body = response.get_data()
    if len(body) < MIN_COMPRESS_BYTES:
        return response
    response.vary.add("Accept-Encoding")
    encoding = chosen_encoding()
    if encoding:
        key = (hashlib.sha256(body).digest(), encoding)
        compressed = _answers.get(key)  # a local reference: another thread may evict the entry meanwhile
        if compressed is None:
            compressed = brotli.compress(body, quality=5) if encoding == "br" else gzip.compress(body, 6, mtime=0)
            _answers[key] = compressed
            while len(_answers) > _MEMO_ANSWERS:
                _answers.popitem(last=False)
        response.set_data(compressed)
        response.headers["Content-Encoding"] = encoding
    if "ETag" not in response.headers:
        response.add_etag()
    return response.make_conditional(request)


def init_static_assets(app: Flask) -> StaticAssets:
    """Serve the static folder through StaticAssets, give url_for('static') hashed names, compress answers."""
    assets = StaticAssets(Path(app.static_folder))
    app.extensions["static_assets"] = assets
    app.view_functions["static"] = assets.serve

    @app.url_defaults
    def hashed_static_names(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = assets.url_name(values["filename"])

    app.jinja_env.globals["page_bundle"] = PAGE_BUNDLE
    app.jinja_env.globals["page_stylesheet"] = PAGE_STYLESHEET
    app.after_request(compress_response)
    return assets
