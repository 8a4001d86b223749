#!/usr/bin/env python3
"""Generate docs/postman_collection.json (Postman Collection v2.1) from the served OpenAPI document.

One request per operation; operations that accept multipart/form-data get a second, multipart request.
Variables: {{baseUrl}}, {{apiToken}} (sent as X-Api-Token where the API accepts a token) and
{{imageBase64}} (a sample photo, so the JSON requests work as they are).

Usage:  python -m tools.make_postman_collection [--check]
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from webapp.config import DEFAULT_MAX_BATCH
from webapp.openapi import openapi_document

OUTPUT = ROOT / "docs" / "postman_collection.json"
SAMPLE_IMAGE = ROOT / "tests" / "data" / "photos" / "grace_hopper.jpg"
SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
FORM_EXAMPLES = {"classes": "person", "annotate": "true"}  # optional fields: shipped disabled


def build_collection(document: dict, sample_image: bytes) -> dict:
    """The collection for an OpenAPI document, in the document's path and method order."""
    items = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in HTTP_METHODS:
                items.extend(_requests_for(document, path, method, operation))
    return {
        "info": {
            "name": document["info"]["title"],
            "description": document["info"].get("description", "").strip(),
            "schema": SCHEMA_URL,
        },
        "item": items,
        "variable": [
            {"key": "baseUrl", "value": "http://localhost:5000", "type": "string"},
            {"key": "apiToken", "value": "", "type": "string", "description": "only if the server sets API_TOKENS"},
            {"key": "imageBase64", "value": base64.b64encode(sample_image).decode("ascii"), "type": "string",
             "description": f"base64 of {SAMPLE_IMAGE.relative_to(ROOT)}; paste another image's base64 here"},
        ],  # fmt: skip
    }


def _requests_for(document: dict, path: str, method: str, operation: dict) -> list[dict]:
    """The operation's request, plus a multipart one when it accepts a form."""
    name = f"{operation.get('operationId', method + path)}: {operation.get('summary', '')}".rstrip(": ")
    content = operation.get("requestBody", {}).get("content", {})
    headers = _token_header(operation)
    if "application/json" not in content:
        return [_item(name, method, path, headers, None)]
    json_body = {"mode": "raw", "raw": json.dumps(_origin_body(document), indent=2), "options": {"raw": {"language": "json"}}}
    items = [_item(f"{name} (JSON)", method, path, [*headers, {"key": "Content-Type", "value": "application/json"}], json_body)]
    if "multipart/form-data" in content:
        form_body = {"mode": "formdata", "formdata": _form_fields(document)}
        items.append(_item(f"{name} (multipart form)", method, path, headers, form_body))
    return items


def _item(name: str, method: str, path: str, headers: list[dict], body: dict | None) -> dict:
    """One Postman request."""
    request = {
        "method": method.upper(),
        "header": headers,
        "url": {"raw": "{{baseUrl}}" + path, "host": ["{{baseUrl}}"], "path": path.strip("/").split("/") if path != "/" else [""]},
    }
    if body is not None:
        request["body"] = body
    return {"name": name, "request": request, "response": []}


def _token_header(operation: dict) -> list[dict]:
    """X-Api-Token for operations whose security names the apiToken scheme."""
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    return [{"key": "X-Api-Token", "value": "{{apiToken}}"}] if "apiToken" in schemes else []


def _defaults(document: dict) -> dict:
    """Each numeric feature with its documented default, in the document's order."""
    properties = document["components"]["schemas"]["Features"]["properties"]
    return {name: spec["default"] for name, spec in properties.items() if spec.get("type") in ("number", "integer")}


def _origin_body(document: dict) -> dict:
    """The origin document's request shape: features first, then the base64 image."""
    return {"requests": [{"features": [_defaults(document)], "image": {"content": "{{imageBase64}}"}}]}


def _form_fields(document: dict) -> list[dict]:
    """The form's file field and parameters; optional non-numeric fields disabled."""
    defaults = _defaults(document)
    fields = []
    for name, spec in document["components"]["schemas"]["PredictForm"]["properties"].items():
        if spec.get("format") == "binary":
            fields.append({"key": name, "type": "file", "src": [], "description": "choose an image file"})
        elif name in defaults:
            fields.append({"key": name, "value": str(defaults[name]), "type": "text"})
        else:
            fields.append({"key": name, "value": FORM_EXAMPLES.get(name, ""), "type": "text", "disabled": True})
    return fields


def render() -> str:
    """The file's exact text."""
    return json.dumps(build_collection(openapi_document(DEFAULT_MAX_BATCH), SAMPLE_IMAGE.read_bytes()), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the collection, or with --check say whether the committed one is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/postman_collection.json is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.is_file() and OUTPUT.read_text(encoding="utf-8") == text
        print(f"{OUTPUT.relative_to(ROOT)} is {'up to date' if current else 'out of date: regenerate it'}")
        return 0 if current else 1
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
