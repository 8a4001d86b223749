"""Every environment variable webapp/config.py reads reaches app.config; bad values fail with a clear message."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

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
    "EXECUTION_PROVIDERS": ("CUDAExecutionProvider, CPUExecutionProvider", "EXECUTION_PROVIDERS",
                            ["CUDAExecutionProvider", "CPUExecutionProvider"]),
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
}

CONFIG_SOURCE = Path(config_module.__file__).read_text()
INTEGER_VARS = sorted(set(re.findall(r'_int\(\s*"([A-Z0-9_]+)"', CONFIG_SOURCE)))


def env_vars_read_by_config() -> set[str]:
    """Names config.py reads, found in its source (environ.get, _int, _list and any other helper)."""
    return set(re.findall(r'(?:environ\.get|environ\[|getenv|_\w+)\(\s*"([A-Z][A-Z0-9_]+)"', CONFIG_SOURCE))


@pytest.fixture()
def clean_env(monkeypatch):
    """No configuration variable set, whatever the developer's shell has."""
    for name in env_vars_read_by_config() | set(ENV_CASES):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_variable_config_reads_is_covered_here():
    found = env_vars_read_by_config()
    assert len(found) >= len(ENV_CASES) - 1  # the source scan itself works
    assert found - set(ENV_CASES) == set(), "add the new variable to ENV_CASES"


@pytest.mark.parametrize("name", sorted(ENV_CASES))
def test_each_variable_reaches_app_config(clean_env, name):
    raw, key, expected = ENV_CASES[name]
    default = create_app({"LOAD_MODEL": False}).config[key]
    clean_env.setenv(name, raw)
    configured = create_app({"LOAD_MODEL": False}).config[key]
    assert configured == expected
    assert configured != default


def test_defaults_without_any_variable(clean_env):
    config = create_app({"LOAD_MODEL": False}).config
    assert config["MODELS"] == [] and config["MODEL_FAMILY"] is None and config["MODEL_INPUT_SIZE"] is None
    assert config["API_TOKENS"] == [] and config["CORS_ORIGINS"] == []
    assert config["MAX_CONTENT_LENGTH"] == 20 * 1024 * 1024 and config["MAX_BATCH"] == 16
    assert config["EXECUTION_PROVIDERS"] == ["CPUExecutionProvider"]


def test_blank_integer_takes_the_default(clean_env):
    clean_env.setenv("MAX_BATCH", "  ")
    assert create_app({"LOAD_MODEL": False}).config["MAX_BATCH"] == 16


def test_explicit_config_overrides_the_environment(clean_env):
    clean_env.setenv("API_TOKENS", "from-env")
    assert create_app({"LOAD_MODEL": False, "API_TOKENS": ["given"]}).config["API_TOKENS"] == ["given"]


@pytest.mark.parametrize("name", INTEGER_VARS)
def test_bad_integer_stops_with_a_clear_message(clean_env, name):
    clean_env.setenv(name, "12MB")
    with pytest.raises(config_module.ConfigError) as stopped:  # not SystemExit: gunicorn would respawn workers
        create_app({"LOAD_MODEL": False})
    message = str(stopped.value)
    assert name in message and "'12MB'" in message and "integer" in message


# env var -> the smallest value it accepts (MODEL_INPUT_SIZE and ORT_INTRA_OP_THREADS: 0 means "not set")
MINIMUMS = {
    "MAX_BATCH": 1,
    "ANNOTATE_MAX_SIDE": 16,
    "ANNOTATE_MAX_BYTES": 1,
    "MAX_REQUEST_BYTES": 1,
    "MAX_IMAGE_PIXELS": 1,
    "MAX_IMAGE_SIDE": 1,
    "ORT_INTRA_OP_THREADS": 0,
    "MODEL_INPUT_SIZE": 0,
    "MODEL_MAX_DOWNLOAD_BYTES": 1,
    "REQUEST_TIMEOUT_S": 1,
    "CACHE_BYTES": 0,
    "CACHE_TTL_S": 1,
    "TRUSTED_PROXIES": 0,
    "WEB_CONCURRENCY": 0,
}


def test_every_integer_setting_has_a_minimum_tested_here():
    assert set(MINIMUMS) == set(INTEGER_VARS)


@pytest.mark.parametrize("name", sorted(MINIMUMS))
def test_integer_below_its_minimum_stops_with_a_clear_message(clean_env, name):
    clean_env.setenv(name, str(MINIMUMS[name] - 1))
    with pytest.raises(config_module.ConfigError) as stopped:
        create_app({"LOAD_MODEL": False})
    message = str(stopped.value)
    assert name in message and f"at least {MINIMUMS[name]}" in message


@pytest.mark.parametrize("name", sorted(MINIMUMS))
def test_integer_at_its_minimum_is_accepted(clean_env, name):
    clean_env.setenv(name, str(MINIMUMS[name]))
    create_app({"LOAD_MODEL": False})


def test_annotate_format_is_jpeg_or_png(clean_env):
    clean_env.setenv("ANNOTATE_FORMAT", "gif")
    with pytest.raises(config_module.ConfigError, match="ANNOTATE_FORMAT must be one of jpeg, png, got 'gif'"):
        create_app({"LOAD_MODEL": False})
