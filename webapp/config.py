"""The app's configuration: the variables of the settings table (serving/settings.py) that reach app.config."""

from __future__ import annotations

import os
from collections.abc import Mapping

from serving.settings import SETTINGS, SETTINGS_BY_NAME, SettingError

ConfigError = SettingError  # what webapp/wsgi.py turns into one line and gunicorn's boot-error exit
DEFAULT_MAX_BATCH = SETTINGS_BY_NAME["MAX_BATCH"].default  # the OpenAPI document and the Postman collection say it
# The single-model spellings of MODELS, tried in this order when MODELS is unset.
MODEL_SOURCES = ("MODELS", "MODEL_PATH", "MODEL_URL")


def from_environment(environ: Mapping[str, str] | None = None) -> dict:
    """Every setting the application reads, from `environ` (default os.environ) or its default."""
    environ = os.environ if environ is None else environ
    config = {setting.key: setting.parse(environ.get(setting.name)) for setting in SETTINGS if setting.app}
    given = {name: SETTINGS_BY_NAME[name].parse(environ.get(name)) for name in MODEL_SOURCES}
    # Empty = every embedded model; MODEL_PATH or MODEL_URL alone serve that one model.
    config["MODELS"] = next((models for models in given.values() if models), [])
    # Which variable MODELS came from, for start-up errors that name the setting to fix.
    config["MODELS_SETTING"] = next((name for name, models in given.items() if models), "MODELS")
    config["MODEL_INPUT_SIZE"] = config["MODEL_INPUT_SIZE"] or None  # 0 = unset: the model's own size
    return config
