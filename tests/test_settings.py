"""The settings table (serving/settings.py): the one declaration of every environment variable.

Every variable the code reads is in it, docs/settings.md's table is generated from it, bad values stop the start
with the variable and its bounds named (the app, the gunicorn worker and gunicorn.conf.py alike), and the copies
that must live apart (the page's and the client's fallback batch limit) agree with it.
"""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from detection_client.server_info import FALLBACK_MAX_BATCH as CLIENT_FALLBACK_MAX_BATCH
from serving import settings
from serving.settings import SETTINGS, SETTINGS_BY_NAME, SettingError
from tools import make_settings_doc

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
# A value each kind refuses. Text and lists take anything.
GARBAGE = {
    "int": "12MB",
    "number": "fast",
    "flag": "maybe",
    "choice": "gif",
    "redis_url": "http://cache.test",
    "rate_limit": "lots per day",
}
CHECKED = [setting for setting in SETTINGS if setting.kind in GARBAGE]
# Read straight from the environment on purpose: gunicorn's marker, and the folder gunicorn.conf.py sets for
# prometheus_client (which reads it itself).
READ_ELSEWHERE = {"SERVER_SOFTWARE", "PROMETHEUS_MULTIPROC_DIR"}


def source_files() -> list[Path]:
    """The server's Python files (the client keeps its own, documented in docs/client.md)."""
    files = [GUNICORN_CONF, *(ROOT / "webapp").rglob("*.py"), *(ROOT / "serving").rglob("*.py")]
    return [*files, *(ROOT / "inference").rglob("*.py")]


def names_read(pattern: str) -> dict[str, set[str]]:
    """Variable names matched by `pattern` (one group), by file."""
    found = {}
    for path in source_files():
        names = set(re.findall(pattern, path.read_text()))
        if names:
            found[str(path.relative_to(ROOT))] = names
    return found


def test_every_variable_the_server_reads_is_declared_in_the_table():
    declared = set(SETTINGS_BY_NAME) | READ_ELSEWHERE
    read = names_read(
        r"""(?:os\.environ\.get|getenv|os\.environ\[|_setting|settings\.read|\bread)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
    )
    assert read, "the scan finds the reads"
    undeclared = {path: names - declared for path, names in read.items() if names - declared}
    assert undeclared == {}


def test_no_module_but_the_table_reads_a_declared_variable_from_the_environment_itself():
    direct = names_read(r"""(?:os\.environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
    assert direct.pop("serving/settings.py", None) is None  # the table reads through `environ`, as given
    assert direct, "the scan finds the reads left (READ_ELSEWHERE)"
    assert {path: names - READ_ELSEWHERE for path, names in direct.items() if names - READ_ELSEWHERE} == {}


def test_each_name_is_declared_once():
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names))
    keys = [setting.key for setting in SETTINGS if setting.app]
    assert len(keys) == len(set(keys))


def test_docs_table_is_generated_from_the_table():
    current = make_settings_doc.OUTPUT.read_text(encoding="utf-8")
    assert make_settings_doc.render(current) == current, "run: python -m tools.make_settings_doc"
    for setting in SETTINGS:
        assert f"| `{setting.name}` |" in current


def test_limits_owned_by_inference_are_taken_from_there():
    from inference.image_decoding import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE

    assert SETTINGS_BY_NAME["MAX_IMAGE_PIXELS"].default_value() == DEFAULT_MAX_PIXELS
    assert SETTINGS_BY_NAME["MAX_IMAGE_SIDE"].default_value() == DEFAULT_MAX_SIDE


def test_the_download_limit_default_is_the_tables():
    import inspect

    from webapp.model_source import download_model

    default = inspect.signature(download_model).parameters["max_bytes"].default
    assert default == SETTINGS_BY_NAME["MODEL_MAX_DOWNLOAD_BYTES"].default


def test_the_page_and_the_client_fall_back_to_the_servers_default_batch_limit():
    """Both read limits.max_batch from /api/model; the fallback (a server that says nothing) is a copy."""
    page = (ROOT / "webapp" / "static" / "batch-api.js").read_text()
    page_fallback = re.search(r"const FALLBACK_MAX_BATCH = (\d+);", page)
    assert page_fallback, "batch-api.js declares its fallback"
    assert int(page_fallback.group(1)) == CLIENT_FALLBACK_MAX_BATCH == SETTINGS_BY_NAME["MAX_BATCH"].default


@pytest.mark.parametrize("setting", CHECKED, ids=[setting.name for setting in CHECKED])
def test_a_bad_value_names_the_variable_and_its_bounds(setting):
    raw = GARBAGE[setting.kind]
    with pytest.raises(SettingError) as stopped:
        settings.check_environment({setting.name: raw})
    message = str(stopped.value)
    assert message == f"configuration error: {setting.name} must be {setting.bounds()}, got {raw!r}"
    if setting.minimum is not None:
        assert str(setting.minimum) in message


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.kind == "int"], ids=lambda setting: setting.name)
def test_integers_are_checked_against_their_bounds(setting):
    assert settings.read(setting.name, {setting.name: str(setting.minimum)}) == setting.minimum
    with pytest.raises(SettingError, match=f"{setting.name} must be an integer (of at least|from) {setting.minimum}"):
        settings.read(setting.name, {setting.name: str(setting.minimum - 1)})
    if setting.maximum is not None:
        assert settings.read(setting.name, {setting.name: str(setting.maximum)}) == setting.maximum
        with pytest.raises(SettingError, match=f"to {setting.maximum}, got '{setting.maximum + 1}'"):
            settings.read(setting.name, {setting.name: str(setting.maximum + 1)})


@pytest.mark.parametrize("raw", ["0", "-5", "inf", "nan", "1e400"])
def test_numbers_must_be_positive_and_finite(raw):
    with pytest.raises(SettingError, match=f"SERVE_IDLE_TIMEOUT_S must be a positive number, got '{raw}'"):
        settings.read("SERVE_IDLE_TIMEOUT_S", {"SERVE_IDLE_TIMEOUT_S": raw})
    assert settings.read("SERVE_IDLE_TIMEOUT_S", {"SERVE_IDLE_TIMEOUT_S": "0.5"}) == 0.5


def test_every_spelling_of_yes_and_no_and_of_a_choice():
    for word in settings.TRUE_WORDS:
        assert settings.read("INFO_REQUIRES_TOKEN", {"INFO_REQUIRES_TOKEN": f" {word.upper()} "}) is True
    for word in settings.FALSE_WORDS:
        assert settings.read("METRICS_REQUIRES_TOKEN", {"METRICS_REQUIRES_TOKEN": word.title()}) is False
    assert settings.read("LOG_LEVEL", {"LOG_LEVEL": "debug"}) == "DEBUG"
    assert settings.read("ANNOTATE_FORMAT", {"ANNOTATE_FORMAT": "PNG"}) == "png"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_unset_or_blank_is_the_default(setting):
    expected = setting.default_value()
    expected = list(expected) if setting.kind == "list" else expected
    assert settings.read(setting.name, {}) == expected
    assert settings.read(setting.name, {setting.name: "  "}) == expected


def test_folders_are_worked_out_at_start_up():
    assert settings.read("MODEL_CACHE_DIR", {}).endswith("/.cache/detection-server")
    assert Path(settings.read("CACHE_DIR", {})).name.startswith("detection-server-cache-")


def test_checking_the_environment_works_out_no_default():
    """gunicorn's master checks every variable: it must not import the model runtime for a default."""
    code = (
        "import sys; from serving import settings; settings.check_environment({'MAX_BATCH': '4'}); "
        "print(sorted(name for name in ('inference', 'onnxruntime', 'flask') if name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- gunicorn.conf.py --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "bounds"),
    [
        ("PORT", "http", "an integer from 0 to 65535"),
        ("WEB_CONCURRENCY", "-1", "an integer of at least 0"),
        ("GUNICORN_WORKER_CLASS", "eventlet", "one of buffered, sync, gthread"),
        ("GUNICORN_THREADS", "0", "an integer of at least 1"),
        ("GUNICORN_TIMEOUT", "30s", "an integer of at least 1"),
        ("SERVE_MIN_BYTES_PER_S", "fast", "a positive number"),
        ("MAX_BATCH", "sixteen", "an integer of at least 1"),  # the app's, checked in the master too
        ("RATE_LIMIT", "lots", "like '200 per 10 seconds; 1200 per minute', or 'off'"),
    ],
)
def test_gunicorn_conf_stops_on_a_bad_value_with_one_line_naming_it(monkeypatch, capsys, name, raw, bounds):
    monkeypatch.setenv(name, raw)
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(GUNICORN_CONF))  # stops before it sets anything in the environment
    assert stopped.value.code == 3  # gunicorn's boot error: the master halts instead of respawning
    assert capsys.readouterr().err == f"cannot start: configuration error: {name} must be {bounds}, got {raw!r}\n"


@pytest.fixture()
def gunicorn_conf(monkeypatch):
    """gunicorn.conf.py evaluated with no setting of the table in the environment (it restores what it sets)."""
    for setting in SETTINGS:
        monkeypatch.setenv(setting.name, "")  # blank = the default; setenv so the conf's own writes are undone
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/nonexistent")  # set: the conf makes no folder
    monkeypatch.delenv("ORT_INTRA_OP_THREADS")  # unset: the conf sets its share (undone by the setenv above)
    return lambda: runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_conf_takes_its_defaults_from_the_table(gunicorn_conf):
    conf = gunicorn_conf()
    default = {setting.name: setting.default_value() for setting in SETTINGS}
    assert conf["bind"] == f"0.0.0.0:{default['PORT']}"
    assert conf["worker_connections"] == default["GUNICORN_WORKER_CONNECTIONS"]
    assert conf["max_requests"] == default["GUNICORN_MAX_REQUESTS"]
    assert (
        conf["timeout"] == conf["graceful_timeout"] == default["REQUEST_TIMEOUT_S"] + settings.GUNICORN_TIMEOUT_MARGIN_S
    )
    assert conf["worker_class"] == conf["WORKER_CLASSES"][default["GUNICORN_WORKER_CLASS"]]
    assert set(conf["WORKER_CLASSES"]) == set(SETTINGS_BY_NAME["GUNICORN_WORKER_CLASS"].choices)
