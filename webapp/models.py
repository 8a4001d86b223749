"""The models one process serves: loaded once from the MODELS setting, the first is the default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inference import Detector, ModelError, ParameterError
from inference.catalog import EMBEDDED_MODELS, EmbeddedModel
from inference.params import merged_defaults
from inference.preprocess import limit_resize_threads

from . import wire
from .model_source import resolve_model_path


@dataclass(frozen=True)
class ServedModel:
    """One loaded model, its request defaults, and what /api/models says of it."""

    name: str
    detector: Detector
    default_params: Mapping[str, float] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)  # source, title, measured figures


class ModelSet:
    """Models by name; `resolve` turns a request's model field into the model that serves it."""

    def __init__(self, models: list[ServedModel]) -> None:
        if not models:
            raise ModelError("MODELS names no model")
        self.entries = tuple(models)
        self.default = models[0]
        self._by_name = {model.name: model for model in models}

    def resolve(self, requested: str | None) -> ServedModel:
        """The model a request's `model` names (None = the default); ParameterError if unknown."""
        if requested is None:
            return self.default
        model = self._by_name.get(requested.strip())
        if model is None:
            raise ParameterError(f"unknown model {requested[:80]!r}; this server has {', '.join(self._by_name)}")
        return model

    def describe(self, model: ServedModel) -> dict[str, Any]:
        """JSON for /api/model and /api/models."""
        defaults = merged_defaults(model.default_params)
        return {
            **wire.model_description(model.detector.info, defaults, dict(model.facts)),
            "default": model is self.default,
        }


def load_models(config: dict) -> ModelSet:
    """Every model the configuration names, loaded and warmed up, in order."""
    names = config["MODELS"] or [m.name for m in EMBEDDED_MODELS]
    limit_resize_threads(config["ORT_INTRA_OP_THREADS"])  # the worker's share of the cores, for resizes too
    models = [_load(item, config) for item in names]
    duplicates = {m.name for m in models if [n.name for n in models].count(m.name) > 1}
    if duplicates:
        raise ModelError(f"MODELS: two models are called {', '.join(sorted(duplicates))}; rename one file")
    return ModelSet(models)


def _load(item: str, config: dict) -> ServedModel:
    """One MODELS item: an embedded model's name, a local path or an http(s) URL."""
    embedded = {model.name: model for model in EMBEDDED_MODELS}
    if item in embedded:
        return _embedded(embedded[item], config)
    if not _is_url(item) and not Path(item).expanduser().is_file():
        choices = ", ".join(embedded)
        raise ModelError(
            f"{config.get('MODELS_SETTING', 'MODELS')}={item}: neither an embedded model ({choices}) nor a file"
        )
    try:
        path = resolve_model_path(
            {**config, "MODEL_PATH": "" if _is_url(item) else item, "MODEL_URL": item if _is_url(item) else ""}, None
        )
        detector = Detector(
            path,
            family=config["MODEL_FAMILY"],
            class_names=config["MODEL_LABELS"],
            input_size=config["MODEL_INPUT_SIZE"],
            intra_op_threads=config["ORT_INTRA_OP_THREADS"],
            providers=config["EXECUTION_PROVIDERS"],
            source=_public_source(item),
            name=Path(urlsplit(item).path if _is_url(item) else item).stem,
        )
    except ModelError as exc:
        raise ModelError(f"{config.get('MODELS_SETTING', 'MODELS')}={item}: {exc}") from None
    return ServedModel(detector.info.name, detector, {}, {"source": detector.info.source})


def _embedded(model: EmbeddedModel, config: dict) -> ServedModel:
    """An embedded model with its catalogue defaults and measured figures."""
    detector = model.load(intra_op_threads=config["ORT_INTRA_OP_THREADS"], providers=config["EXECUTION_PROVIDERS"])
    facts = model.to_dict()
    return ServedModel(
        model.name, detector, dict(model.default_params), {k: facts[k] for k in ("title", "source", "coco_dev")}
    )


def _is_url(item: str) -> bool:
    return item.startswith(("http://", "https://"))


def _public_source(item: str) -> str:
    """What may be shown of a model's origin: a URL without its query (presigned signatures), a file's name only."""
    if _is_url(item):
        parts = urlsplit(item)  # no user:password, no query, no fragment
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
    return f"local file {Path(item).name}"
