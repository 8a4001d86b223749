"""The OpenAPI 3 document, kept as YAML beside this module and read once."""
from functools import cache
from pathlib import Path

import yaml

from inference.params import MAX_RESULTS_LIMIT

_DOCUMENT = Path(__file__).with_name("openapi.yaml")


@cache
def openapi_document() -> dict:
    """The parsed document (cached: it never changes while the process runs)."""
    document = yaml.safe_load(_DOCUMENT.read_text(encoding="utf-8"))
    features = document["components"]["schemas"]["Features"]["properties"]
    assert features["maxResults"]["maximum"] == MAX_RESULTS_LIMIT, "openapi.yaml disagrees with params.py"
    return document
