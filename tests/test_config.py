"""Every variable of the settings table the app takes reaches app.config; bad values fail with a clear message."""

from __future__ import annotations

import pytest

from serving.settings import SETTINGS, SETTINGS_BY_NAME
from webapp import config as config_module
from webapp.app import create_app

# env var -> (value to set, config key, expected config value)
ENV_CASES = {
    "MODELS": ("yolox_nano, /models/custom.onnx", "MODELS", ["yolox_nano", "/models/custom.onnx"]),
    "MODEL_PATH": ("/models/custom.onnx", "MODELS", ["/models/custom.onnx"]),
    "MODEL_URL": ("https://example.test/m.onnx", "MODELS", ["https://example.test/m.onnx"]),
    "MODEL_SHA256": ("ab" * 32, "MODEL_SHA256", "ab" * 32),
    "MODEL_CACHE_DIR": ("/tmp/model-cache", "MODEL_CACHE_DIR", "/tmp/model-cache"),
    "MODEL_MAX_DOWNLOAD_BYTES": ("12345", "MODEL_MAX_DOWNLOAD_BYTES", 12345),
    "MODEL_FAMILY": ("yolov8", "MODEL_FAMILY", "yolov8"),
    "MODEL_LABELS": ("/models/labels.txt", "MODEL_LABELS", "/models/labels.txt"),
    "MODEL_INPUT_SIZE": ("640", "MODEL_INPUT_SIZE", 640),
    "ORT_INTRA_OP_THREADS": ("3", "ORT_INTRA_OP_THREADS", 3),
    "EXECUTION_PROVIDERS": (
        "CUDAExecutionProvider, CPUExecutionProvider",
        "EXECUTION_PROVIDERS",
        ["CUDAExecutionProvider", "CPUExecutionProvider"],
    ),
    "API_TOKENS": ("one,two , three", "API_TOKENS", ["one", "two", "three"]),
    "INFO_REQUIRES_TOKEN": ("yes", "INFO_REQUIRES_TOKEN", True),
    "METRICS_REQUIRES_TOKEN": ("no", "METRICS_REQUIRES_TOKEN", False),
    "CACHE_BYTES": ("1000000", "CACHE_BYTES", 1_000_000),
    "CACHE_DIR": ("/tmp/result-cache", "CACHE_DIR", "/tmp/result-cache"),
    "CACHE_URL": ("redis://127.0.0.1:6379/0", "CACHE_URL", "redis://127.0.0.1:6379/0"),
    "CACHE_TTL_S": ("60", "CACHE_TTL_S", 60),
    "RATE_LIMIT": ("30 per second", "RATE_LIMIT", "30 per second"),
    "TRUSTED_PROXIES": ("2", "TRUSTED_PROXIES", 2),
    "CORS_ORIGINS": ("http://a.test,http://b.test", "CORS_ORIGINS", ["http://a.test", "http://b.test"]),
    "MAX_REQUEST_BYTES": ("2048", "MAX_CONTENT_LENGTH", 2048),
    "MAX_IMAGE_PIXELS": ("1000000", "MAX_IMAGE_PIXELS", 1_000_000),
    "MAX_IMAGE_SIDE": ("4000", "MAX_IMAGE_SIDE", 4000),
    "MAX_BATCH": ("4", "MAX_BATCH", 4),
    "WEB_CONCURRENCY": ("3", "WORKERS", 3),
    "ANNOTATE_FORMAT": ("PNG", "ANNOTATE_FORMAT", "png"),
    "ANNOTATE_MAX_SIDE": ("1024", "ANNOTATE_MAX_SIDE", 1024),
    "ANNOTATE_MAX_BYTES": ("1000000", "ANNOTATE_MAX_BYTES", 1_000_000),
    "REQUEST_TIMEOUT_S": ("5", "REQUEST_TIMEOUT_S", 5),
    "LOG_FORMAT": ("JSON", "LOG_FORMAT", "json"),
    "LOG_LEVEL": ("debug", "LOG_LEVEL", "DEBUG"),
    "LOAD_MODEL": ("no", "LOAD_MODEL", False),
}

# Every setting the app takes, plus the two single-model spellings of MODELS.
APP_VARIABLES = {setting.name for setting in SETTINGS if setting.app} | {"MODEL_PATH", "MODEL_URL"}
INTEGER_APP_SETTINGS = [setting for setting in SETTINGS if setting.app and setting.kind == "int"]


@pytest.fixture()
def clean_env(monkeypatch):
    """No variable of the table set, whatever the developer's shell has; no models (LOAD_MODEL=false)."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    monkeypatch.setenv("LOAD_MODEL", "false")
    return monkeypatch


def test_every_variable_the_app_takes_is_covered_here():
    assert set(ENV_CASES) == APP_VARIABLES


@pytest.mark.parametrize("name", sorted(ENV_CASES))
def test_each_variable_reaches_app_config(clean_env, name):
    raw, key, expected = ENV_CASES[name]
    clean_env.delenv(name, raising=False)
    default = config_module.from_environment()[key]
    clean_env.setenv(name, raw)
    configured = create_app().config[key]
    assert configured == expected
    assert configured != default


def test_defaults_without_any_variable_are_the_tables(clean_env):
    clean_env.delenv("LOAD_MODEL")
    config = config_module.from_environment()
    for setting in SETTINGS:
        if setting.app:
            default = setting.default_value()
            expected = list(default) if setting.kind == "list" else default
            assert config[setting.key] == (expected or None if setting.name == "MODEL_INPUT_SIZE" else expected)
    assert config["MODELS"] == [] and config["MODELS_SETTING"] == "MODELS"  # every embedded model
    assert config["MODEL_FAMILY"] is None and config["MODEL_INPUT_SIZE"] is None


def test_models_come_from_the_first_spelling_set(clean_env):
    clean_env.setenv("MODEL_URL", "https://example.test/m.onnx")
    clean_env.setenv("MODEL_PATH", "/models/custom.onnx")
    config = config_module.from_environment()
    assert (config["MODELS"], config["MODELS_SETTING"]) == (["/models/custom.onnx"], "MODEL_PATH")
    clean_env.setenv("MODELS", "yolox_nano")
    config = config_module.from_environment()
    assert (config["MODELS"], config["MODELS_SETTING"]) == (["yolox_nano"], "MODELS")


def test_blank_integer_takes_the_default(clean_env):
    clean_env.setenv("MAX_BATCH", "  ")
    assert create_app().config["MAX_BATCH"] == SETTINGS_BY_NAME["MAX_BATCH"].default


def test_explicit_config_overrides_the_environment(clean_env):
    clean_env.setenv("API_TOKENS", "from-env")
    assert create_app({"API_TOKENS": ["given"]}).config["API_TOKENS"] == ["given"]


def test_load_model_false_starts_without_models(clean_env):
    app = create_app()
    assert "models" not in app.extensions
    assert app.test_client().get("/readyz").status_code == 503


@pytest.mark.parametrize("setting", INTEGER_APP_SETTINGS, ids=lambda setting: setting.name)
def test_bad_integer_stops_with_a_clear_message(clean_env, setting):
    clean_env.setenv(setting.name, "12MB")
    with pytest.raises(config_module.ConfigError) as stopped:  # not SystemExit: gunicorn would respawn workers
        create_app()
    message = str(stopped.value)
    assert setting.name in message and "'12MB'" in message and f"an integer of at least {setting.minimum}" in message


@pytest.mark.parametrize("setting", INTEGER_APP_SETTINGS, ids=lambda setting: setting.name)
def test_integer_below_its_minimum_stops_with_a_clear_message(clean_env, setting):
    clean_env.setenv(setting.name, str(setting.minimum - 1))
    with pytest.raises(config_module.ConfigError) as stopped:
        create_app()
    message = str(stopped.value)
    assert setting.name in message and f"at least {setting.minimum}" in message


@pytest.mark.parametrize("setting", INTEGER_APP_SETTINGS, ids=lambda setting: setting.name)
def test_integer_at_its_minimum_is_accepted_and_used(clean_env, setting):
    clean_env.setenv(setting.name, str(setting.minimum))
    configured = create_app().config[setting.key]
    # MODEL_INPUT_SIZE's 0 means "the model's own size".
    assert configured == (None if setting.name == "MODEL_INPUT_SIZE" else setting.minimum)


def test_annotate_format_is_jpeg_or_png(clean_env):
    clean_env.setenv("ANNOTATE_FORMAT", "gif")
    with pytest.raises(config_module.ConfigError, match="ANNOTATE_FORMAT must be one of jpeg, png, got 'gif'"):
        create_app()


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "loud"),
        ("LOAD_MODEL", "maybe"),
        ("CACHE_URL", "memcached://x"),
        ("RATE_LIMIT", "fast"),
    ],
)
def test_other_bad_values_stop_the_app_by_name(clean_env, name, raw):
    clean_env.setenv(name, raw)
    with pytest.raises(config_module.ConfigError, match=f"configuration error: {name} must be .*, got '{raw}'"):
        create_app()
