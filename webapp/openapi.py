"""The OpenAPI 3 document: openapi.yaml beside this module, completed from the parameters' one declaration."""

from copy import deepcopy
from functools import cache
from pathlib import Path

import yaml

from inference.params import PARAMETERS, REQUEST_LIMITS, Parameter

_DOCUMENT = Path(__file__).with_name("openapi.yaml")


@cache
def _static_document() -> dict:
    """openapi.yaml, parsed once."""
    return yaml.safe_load(_DOCUMENT.read_text(encoding="utf-8"))


def _schema(parameter: Parameter, nullable: bool) -> dict:
    """One numeric parameter as a JSON schema."""
    schema = {
        "type": "integer" if parameter.kind is int else "number",
        "minimum": parameter.minimum,
        "maximum": parameter.maximum,
        "default": parameter.default,
        "description": parameter.help,
    }
    return {**schema, "nullable": True} if nullable else schema


@cache
def openapi_document(max_batch: int) -> dict:
    """The whole document for a server whose batches hold at most `max_batch` images."""
    document = deepcopy(_static_document())
    schemas = document["components"]["schemas"]
    for parameter in reversed(PARAMETERS):  # numeric parameters first, in declaration order
        schemas["Features"]["properties"] = {
            parameter.name: _schema(parameter, True),
            **schemas["Features"]["properties"],
        }
        schemas["PredictForm"]["properties"][parameter.name] = _schema(parameter, False)
    schemas["PredictRequest"]["properties"]["requests"]["maxItems"] = max_batch
    _add_request_limits(schemas)
    summary, info = schemas["ModelSummary"], schemas["ModelInfo"]  # /api/model = a summary and more
    info["properties"] = {**summary["properties"], **info["properties"]}
    info["required"] = [*summary["required"], *info["required"]]
    return document


def _add_request_limits(schemas: dict) -> None:
    """The most each list and string may hold (inference/params.py REQUEST_LIMITS), as maxItems / maxLength."""
    limits = REQUEST_LIMITS
    features, form = schemas["Features"]["properties"], schemas["PredictForm"]["properties"]
    features["classes"]["maxItems"] = limits.classes
    features["classes"]["items"]["oneOf"][0]["maxLength"] = limits.class_name
    features["model"]["maxLength"] = form["model"]["maxLength"] = limits.model_name
    form["classes"]["maxLength"] = limits.classes_field
    entry = schemas["PredictRequest"]["properties"]["requests"]["items"]["properties"]
    entry["features"]["maxItems"] = limits.features
