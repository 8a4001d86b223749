#!/usr/bin/env python3
"""Generate docs/postman_collection.json (Postman Collection v2.1) from the served OpenAPI document.

One request per operation; operations that accept multipart/form-data get a second, multipart request; and
one error case (an unknown key). Every request carries `pm.test` assertions made from the document: the
status, the content type and the answer's required keys (tests/test_postman_newman.py runs them with newman).
Variables: {{baseUrl}}, {{apiToken}} (sent as X-Api-Token where the API accepts a token) and
{{imageBase64}} (a sample photo, so the JSON requests work as they are). The multipart request's file is
the same photo, by a path relative to the repository (newman --working-dir, or Postman's working directory).

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
from webapp.contract_keys import UNKNOWN_FIELD
from webapp.openapi import openapi_document

OUTPUT = ROOT / "docs" / "postman_collection.json"
SAMPLE_IMAGE = ROOT / "tests" / "data" / "photos" / "grace_hopper.jpg"
SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
ERROR_CASE = "error case: "  # the names of the requests that must fail
FORM_EXAMPLES = {"classes": "person", "annotate": "true"}  # optional fields: shipped disabled


def build_collection(document: dict, sample_image: bytes) -> dict:
    """The collection for an OpenAPI document, in the document's path and method order."""
    items = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in HTTP_METHODS:
                items.extend(_requests_for(document, path, method, operation))
    items.append(_unknown_key_case(document))
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
            {
                "key": "imageBase64",
                "value": base64.b64encode(sample_image).decode("ascii"),
                "type": "string",
                "description": f"base64 of {SAMPLE_IMAGE.relative_to(ROOT)}; paste another image's base64 here",
            },
        ],
    }


def _requests_for(document: dict, path: str, method: str, operation: dict) -> list[dict]:
    """The operation's request, plus a multipart one when it accepts a form."""
    name = f"{operation.get('operationId', method + path)}: {operation.get('summary', '')}".rstrip(": ")
    content = operation.get("requestBody", {}).get("content", {})
    headers = _token_header(operation)
    checks = _success_tests(document, operation)
    if "application/json" not in content:
        return [_item(name, method, path, headers, None, checks)]
    json_body = {
        "mode": "raw",
        "raw": json.dumps(_origin_body(document), indent=2),
        "options": {"raw": {"language": "json"}},
    }
    json_headers = [*headers, {"key": "Content-Type", "value": "application/json"}]
    items = [_item(f"{name} (JSON)", method, path, json_headers, json_body, checks)]
    if "multipart/form-data" in content:
        form_body = {"mode": "formdata", "formdata": _form_fields(document)}
        items.append(_item(f"{name} (multipart form)", method, path, headers, form_body, checks))
    return items


def _unknown_key_case(document: dict) -> dict:
    """POST /api/predict with `model` at the top level: a 422 that names the key."""
    path, operation = "/api/predict", document["paths"]["/api/predict"]["post"]
    body = {"model": "yolox_nano", **_origin_body(document)}
    raw = {"mode": "raw", "raw": json.dumps(body, indent=2), "options": {"raw": {"language": "json"}}}
    headers = [*_token_header(operation), {"key": "Content-Type", "value": "application/json"}]
    checks = [
        *_status_and_type_tests(422, "application/json"),
        _test(
            f"the error is {UNKNOWN_FIELD} and names the key",
            "const error = pm.response.json().error;",
            f"pm.expect(error.code).to.eql({json.dumps(UNKNOWN_FIELD)});",
            "pm.expect(error.message).to.include('`model`');",
        ),
    ]
    return _item(f"{ERROR_CASE}model at the top level (422 {UNKNOWN_FIELD})", "post", path, headers, raw, checks)


def _item(name: str, method: str, path: str, headers: list[dict], body: dict | None, checks: list[str]) -> dict:
    """One Postman request, with its test script."""
    request = {
        "method": method.upper(),
        "header": headers,
        "url": {
            "raw": "{{baseUrl}}" + path,
            "host": ["{{baseUrl}}"],
            "path": path.strip("/").split("/") if path != "/" else [""],
        },
    }
    if body is not None:
        request["body"] = body
    script = {"type": "text/javascript", "exec": [line for check in checks for line in check.splitlines()]}
    return {"name": name, "event": [{"listen": "test", "script": script}], "request": request, "response": []}


def _test(title: str, *lines: str) -> str:
    """One pm.test."""
    body = "".join(f"\n  {line}" for line in lines)
    return f"pm.test({json.dumps(title)}, function () {{{body}\n}});"


def _status_and_type_tests(status: int, media_type: str) -> list[str]:
    return [
        _test(f"status is {status}", f"pm.response.to.have.status({status});"),
        _test(
            f"content type is {media_type}",
            f"pm.expect(pm.response.headers.get('Content-Type')).to.include({json.dumps(media_type)});",
        ),
    ]


def _success_tests(document: dict, operation: dict) -> list[str]:
    """The 200 answer: its status, its content type, and for JSON the keys its schema requires (also in the first
    element of a required list of objects, e.g. the first result slot)."""
    response = _resolve(document, operation["responses"]["200"])
    media_type, content = next(iter(response["content"].items()))
    checks = _status_and_type_tests(200, media_type)
    schema = _resolve(document, content.get("schema", {}))
    if media_type != "application/json" or not schema.get("required"):
        return checks
    checks.append(
        _test(
            f"the answer has {', '.join(schema['required'])}",
            "const body = pm.response.json();",
            f"pm.expect(body).to.include.all.keys({json.dumps(schema['required'])[1:-1]});",
        )
    )
    for name in schema["required"]:
        items = _resolve(document, schema["properties"][name].get("items", {}))
        first = _resolve(document, items["oneOf"][0]) if "oneOf" in items else items
        if first.get("required"):
            checks.append(
                _test(
                    f"the first of {name} has {', '.join(first['required'])}",
                    f"const first = pm.response.json().{name}[0];",
                    f"pm.expect(first).to.include.all.keys({json.dumps(first['required'])[1:-1]});",
                )
            )
    return checks


def _resolve(document: dict, node: dict) -> dict:
    """A schema or response, following a local $ref."""
    while "$ref" in node:
        section, name = node["$ref"].removeprefix("#/components/").split("/")
        node = document["components"][section][name]
    return node


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
            fields.append(
                {
                    "key": name,
                    "type": "file",
                    "src": str(SAMPLE_IMAGE.relative_to(ROOT)),
                    "description": "an image file (a path from the repository's folder; choose another)",
                }
            )
        elif name in defaults:
            fields.append({"key": name, "value": str(defaults[name]), "type": "text"})
        else:
            fields.append({"key": name, "value": FORM_EXAMPLES.get(name, ""), "type": "text", "disabled": True})
    return fields


def render() -> str:
    """The file's exact text."""
    return (
        json.dumps(
            build_collection(openapi_document(DEFAULT_MAX_BATCH), SAMPLE_IMAGE.read_bytes()),
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


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
