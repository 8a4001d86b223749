"""Every environment variable the service reads, declared once: name, type, default, bounds and help.

gunicorn.conf.py, the gunicorn worker (serving/worker.py) and the app (webapp/config.py) all read them through
`read`; docs/settings.md's table is generated from SETTINGS (`python -m tools.make_settings_doc`). Light on
purpose: gunicorn's master imports it, so no Flask and no model runtime here.
"""

from __future__ import annotations

import importlib
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The spellings of yes and no, for settings and for form fields alike.
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
# gunicorn's own timeouts default to the app's REQUEST_TIMEOUT_S plus this, so the app's JSON error comes first.
GUNICORN_TIMEOUT_MARGIN_S = 10
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
RATE_LIMIT_OFF_WORDS = ("off", "none", "0")
MIB = 1024 * 1024


class SettingError(ValueError):
    """A variable's value is unusable; the message names it and what it may be.

    An exception, not SystemExit: gunicorn respawns workers that exit(1); the entry points turn it into one line.
    """


def _owned_by(module: str, name: str) -> Callable[[], Any]:
    """A default declared in another module (imported only when the default is needed: gunicorn's master stays light)."""

    def default() -> Any:
        return getattr(importlib.import_module(module), name)

    return default


@dataclass(frozen=True)
class Setting:
    """One environment variable.

    kind: int, number (positive, finite), flag, choice, text, list (comma-separated), redis_url, rate_limit.
    default: the value when unset or blank; a callable works it out (a path, or a limit another module owns).
    shown: the docs' default column, when the default is worked out at start-up or 0/None means something.
    app: the Flask app takes it into app.config (under config_key, else the name).
    """

    name: str
    kind: str
    default: Any
    help: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    shown: str | None = None
    app: bool = True
    config_key: str = ""

    @property
    def key(self) -> str:
        """Its name in app.config."""
        return self.config_key or self.name

    def default_value(self) -> Any:
        """The value in force when the variable is unset or blank."""
        return self.default() if callable(self.default) else self.default

    def bounds(self) -> str:
        """What a value may be, in words: for start-up errors and the docs."""
        if self.kind == "int":
            if self.maximum is not None:
                return f"an integer from {self.minimum} to {self.maximum}"
            return f"an integer of at least {self.minimum}"
        return {
            "number": "a positive number",
            "flag": f"true or false ({'/'.join(TRUE_WORDS)} or {'/'.join(FALSE_WORDS)})",
            "choice": f"one of {', '.join(self.choices)}",
            "text": "any text",
            "list": "a comma-separated list",
            "redis_url": f"a {', '.join(scheme.removesuffix('://') for scheme in REDIS_SCHEMES)} URL",
            "rate_limit": "like '200 per 10 seconds; 1200 per minute', or 'off'",
        }[self.kind]

    def parse(self, raw: str | None) -> Any:
        """The value of `raw` (the variable's text, None when unset); SettingError names the variable and bounds."""
        text = (raw or "").strip()
        if not text:
            return list(self.default_value()) if self.kind == "list" else self.default_value()
        value = _PARSERS[self.kind](self, text)
        if value is _BAD:
            raise SettingError(f"configuration error: {self.name} must be {self.bounds()}, got {text!r}")
        return value


_BAD = object()


def _int(setting: Setting, text: str) -> Any:
    try:
        value = int(text)
    except ValueError:
        return _BAD
    # A zero or negative limit would refuse every request (or none) instead of failing here, clearly.
    too_small = setting.minimum is not None and value < setting.minimum
    too_large = setting.maximum is not None and value > setting.maximum
    return _BAD if too_small or too_large else value


def _number(setting: Setting, text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return _BAD
    return value if value > 0 and math.isfinite(value) else _BAD


def _flag(setting: Setting, text: str) -> Any:
    word = text.lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else _BAD


def _choice(setting: Setting, text: str) -> Any:
    by_word = {choice.lower(): choice for choice in setting.choices}
    return by_word.get(text.lower(), _BAD)


def _list(setting: Setting, text: str) -> Any:
    return [item.strip() for item in text.split(",") if item.strip()]


def _redis_url(setting: Setting, text: str) -> Any:
    return text if text.startswith(REDIS_SCHEMES) else _BAD


def _rate_limit(setting: Setting, text: str) -> Any:
    if text.lower() in RATE_LIMIT_OFF_WORDS:
        return ""
    from limits import parse_many  # here: only a set value needs the parser

    try:
        parse_many(text)
    except ValueError:
        return _BAD
    return text


_PARSERS: dict[str, Callable[[Setting, str], Any]] = {
    "int": _int,
    "number": _number,
    "flag": _flag,
    "choice": _choice,
    "text": lambda setting, text: text,
    "list": _list,
    "redis_url": _redis_url,
    "rate_limit": _rate_limit,
}


def _model_cache_dir() -> str:
    return str(Path.home() / ".cache" / "detection-server")


def _result_cache_dir() -> str:
    return str(Path(tempfile.gettempdir()) / f"detection-server-cache-{os.getuid()}")


SETTINGS: tuple[Setting, ...] = (
    # gunicorn (gunicorn.conf.py)
    Setting(
        "PORT",
        "int",
        5000,
        "port gunicorn binds on all interfaces (PaaS platforms set it)",
        minimum=0,
        maximum=65535,
        app=False,
    ),
    Setting(
        "WEB_CONCURRENCY",
        "int",
        0,
        "gunicorn worker processes; each loads the models once; `/api/model` reports it as `limits.workers` "
        "(the client sizes its concurrency by it)",
        minimum=0,
        shown="number of CPUs",
        config_key="WORKERS",
    ),
    Setting(
        "GUNICORN_WORKER_CLASS",
        "choice",
        "buffered",
        "the worker layout ([deploy.md](deploy.md)): `buffered` is gevent with deadlines for slow clients, whole "
        "requests read before the model runs, the model in one thread per worker, safe with no proxy in front; "
        "`sync` and `gthread` are gunicorn's own, for comparison behind a proxy that buffers requests",
        choices=("buffered", "sync", "gthread"),
        app=False,
    ),
    Setting(
        "GUNICORN_THREADS",
        "int",
        1,
        "threads per worker, with `GUNICORN_WORKER_CLASS=gthread` only",
        minimum=1,
        app=False,
    ),
    Setting(
        "GUNICORN_WORKER_CONNECTIONS",
        "int",
        500,
        "connections one buffered worker holds at once (idle, uploading, waiting or reading an answer); when "
        "full it lets go of its oldest connection that has not sent a request yet. Keep workers x this under "
        "`ulimit -n`",
        minimum=1,
        app=False,
    ),
    # The buffered worker (serving/worker.py)
    Setting(
        "SERVE_HEADER_TIMEOUT_S",
        "number",
        10,
        "seconds a new connection, or a kept one after its answer, gets to send its request line and headers; a "
        "silent one is closed, a partial one gets 408 `client_too_slow`",
        app=False,
    ),
    Setting(
        "SERVE_IDLE_TIMEOUT_S",
        "number",
        10,
        "longest pause allowed while a request body arrives or an answer is read (408, or the connection is closed)",
        app=False,
    ),
    Setting(
        "SERVE_MIN_BYTES_PER_S",
        "number",
        16384,
        "slowest average rate allowed for a request body or an answer, counted from its start after "
        "`SERVE_IDLE_TIMEOUT_S` of grace",
        app=False,
    ),
    Setting(
        "SERVE_BUFFER_BYTES",
        "int",
        64 * MIB,
        "request bytes one buffered worker holds at once (bodies received, until answered); an upload that "
        "would pass it gets 503 `server_busy` with `Retry-After`",
        minimum=1,
        app=False,
    ),
    Setting(
        "GUNICORN_TIMEOUT",
        "int",
        None,
        "a worker that stops reporting to the master this long is killed and restarted: a buffered worker keeps "
        "reporting while its model thread works; a sync worker busy on one request is killed (the client's "
        "connection drops). `REQUEST_TIMEOUT_S`, shorter, answers with a JSON error first",
        minimum=1,
        shown="`REQUEST_TIMEOUT_S` + {margin} ({request_timeout_plus_margin})",
        app=False,
    ),
    Setting(
        "GUNICORN_GRACEFUL_TIMEOUT",
        "int",
        None,
        "seconds in-flight requests get to finish after SIGTERM",
        minimum=1,
        shown="`REQUEST_TIMEOUT_S` + {margin} ({request_timeout_plus_margin})",
        app=False,
    ),
    Setting(
        "GUNICORN_MAX_REQUESTS",
        "int",
        0,
        "restart a worker after this many requests (with 10% jitter)",
        minimum=0,
        shown="0 (never)",
        app=False,
    ),
    Setting(
        "GUNICORN_ACCESS_LOG",
        "text",
        None,
        "`-` writes gunicorn's access log to stdout: path without query string, status, time, request id; no "
        "headers (the app logs one line per request anyway)",
        shown="(off)",
        app=False,
    ),
    # The models
    Setting(
        "ORT_INTRA_OP_THREADS",
        "int",
        0,
        "ONNX Runtime threads per worker; the default never oversubscribes the cores (0: ONNX Runtime decides)",
        minimum=0,
        shown="CPUs / (workers x threads)",
    ),
    Setting(
        "PIN_MODEL_THREADS",
        "choice",
        "auto",
        "give each buffered worker's model thread a CPU of its own (the scheduler may otherwise run two model runs on "
        "one core for a while): `auto` does when the workers fill every CPU the server may use (workers x ONNX "
        "Runtime threads = CPUs, a machine or cpuset of its own), `on` always, `off` never",
        choices=("auto", "on", "off"),
        app=False,
    ),
    Setting(
        "EXECUTION_PROVIDERS",
        "list",
        ("CPUExecutionProvider",),
        "ONNX Runtime providers in order of preference, comma-separated",
    ),
    Setting(
        "MODELS",
        "list",
        (),
        "comma-separated embedded model names, `.onnx` paths or `http(s)` URLs to serve side by side; the first "
        "is the default",
        shown="(every embedded model: {embedded_models})",
    ),
    Setting("MODEL_PATH", "list", (), "one local `.onnx` file to serve alone (the same as `MODELS=<path>`)", app=False),
    Setting(
        "MODEL_URL",
        "list",
        (),
        "one `http(s)` URL of an `.onnx` file to serve alone, downloaded once into the cache",
        app=False,
    ),
    Setting(
        "MODEL_SHA256",
        "text",
        "",
        "the model file's expected sha256, checked for a path, a download and the cached copy",
    ),
    Setting(
        "MODEL_CACHE_DIR",
        "text",
        _model_cache_dir,
        "where downloaded models are kept",
        shown="`~/.cache/detection-server`",
    ),
    Setting(
        "MODEL_MAX_DOWNLOAD_BYTES", "int", 500 * MIB, "a larger model download is stopped and discarded", minimum=1
    ),
    Setting(
        "MODEL_FAMILY",
        "text",
        None,
        "`yolox`, `yolov5`, `yolov8`, `nanodet`, `centernet`, `detr`: force the family of the models that are "
        "not embedded (refused at start-up if the outputs contradict it)",
        shown="(detected)",
    ),
    Setting("MODEL_LABELS", "text", None, "a text file with one class name per line", shown="(from the model)"),
    Setting(
        "MODEL_INPUT_SIZE",
        "int",
        0,
        "input side for models exported with a symbolic input size",
        minimum=0,
        shown="(the model's; 640 if symbolic)",
    ),
    # Security
    Setting(
        "API_TOKENS",
        "list",
        (),
        "comma-separated tokens; when set, `X-Api-Token` must match one (constant-time compare)",
        shown="(open)",
    ),
    Setting(
        "CORS_ORIGINS",
        "list",
        (),
        "comma-separated origins allowed to call the API from a browser page served elsewhere",
        shown="(none)",
    ),
    Setting(
        "INFO_REQUIRES_TOKEN",
        "flag",
        False,
        "with `API_TOKENS` set, `/api/model`, `/api/models` and `/api/openapi.json` need a token too, and the page "
        "names no model (nor its defaults) until a token is typed",
    ),
    Setting(
        "METRICS_REQUIRES_TOKEN",
        "flag",
        True,
        "with `API_TOKENS` set, `/metrics` needs a token too: `X-Api-Token`, or `Authorization: Bearer <token>` "
        "as Prometheus sends it (`authorization: {credentials: ...}` in the scrape config); `false` leaves it "
        "open",
    ),
    # Limits
    Setting(
        "MAX_REQUEST_BYTES",
        "int",
        20 * MIB,
        "larger request bodies get 413 before anything is decoded",
        minimum=1,
        config_key="MAX_CONTENT_LENGTH",
    ),
    Setting(
        "MAX_IMAGE_PIXELS",
        "int",
        _owned_by("inference.image_decoding", "DEFAULT_MAX_PIXELS"),
        "larger images get 422 before decoding. Also a memory budget, that many RGB pixels' worth (4 bytes "
        "each): a decode that holds more at full size (a WebP 4x, a progressive JPEG its coefficients, a TIFF its "
        "largest strip) is allowed proportionally fewer pixels ([deploy.md](deploy.md#memory-and-decoding-budgets)); "
        "a JPEG counts the pixels of its reduced decode. A JPEG with more than 100 scans gets 422 too (a "
        "progressive JPEG has about 10)",
        minimum=1,
    ),
    Setting(
        "MAX_IMAGE_SIDE",
        "int",
        _owned_by("inference.image_decoding", "DEFAULT_MAX_SIDE"),
        "images wider or taller than this get 422",
        minimum=1,
    ),
    Setting("MAX_BATCH", "int", 16, "more entries in `requests` (or files in a form) get 413", minimum=1),
    Setting(
        "ANNOTATE_FORMAT",
        "choice",
        "jpeg",
        "`annotate=true` draws the boxes into a JPEG (quality 90); `png` for lossless (several times larger)",
        choices=("jpeg", "png"),
    ),
    Setting(
        "ANNOTATE_MAX_SIDE",
        "int",
        2048,
        "the annotated image is shrunk so that its longest side is at most this (boxes drawn to scale); a large "
        "JPEG is decoded at a reduced scale for it",
        minimum=16,
    ),
    Setting(
        "ANNOTATE_MAX_BYTES",
        "int",
        16 * MIB,
        "annotated images one answer may carry: once they hold this much, later images of the batch get a 413 "
        "`annotation_too_large` error in their slot",
        minimum=1,
    ),
    # The result cache and rate limits
    Setting(
        "CACHE_BYTES",
        "int",
        128 * MIB,
        "size of the per-image result cache (each model's candidate boxes by image sha256, shared by the workers "
        "of an instance); 0 turns it off",
        minimum=0,
    ),
    Setting(
        "CACHE_DIR",
        "text",
        _result_cache_dir,
        "where that cache lives (diskcache: SQLite and files); created with mode 0700. A folder of another user, "
        "or one others may write in, is not used: the cache stays off and the log says why",
        shown="`$TMPDIR/detection-server-cache-<uid>`",
    ),
    Setting(
        "CACHE_URL",
        "redis_url",
        "",
        "`redis://[:password@]host:port/db` (or `rediss://`, `unix://`): the result cache and the rate-limit "
        "counters in this Redis, shared by every instance that sets it; give the Redis a `maxmemory` and "
        "`maxmemory-policy allkeys-lru` ([scaling.md](scaling.md))",
        shown="(none: the local cache above)",
    ),
    Setting(
        "CACHE_TTL_S",
        "int",
        3600,
        "with `CACHE_URL`: each cached image expires this many seconds after it was stored",
        minimum=1,
    ),
    Setting(
        "RATE_LIMIT",
        "rate_limit",
        "200 per 10 seconds; 1200 per minute",
        "images per client (its API token, else its IP address) over every instance sharing `CACHE_URL` "
        "(without it: per worker process); each image of a request counts, sent or named by sha256; over it: "
        "429 `rate_limited` with `Retry-After`. Health, readiness, metrics and the page are never limited. "
        "`off` turns it off ([scaling.md](scaling.md))",
    ),
    Setting(
        "TRUSTED_PROXIES",
        "int",
        0,
        "proxies in front that append the client's address to `X-Forwarded-For` (a PaaS router: 1): the client "
        "is the address that many entries from the right; 0: the connection's peer. More than the real number "
        "lets clients choose their address",
        minimum=0,
    ),
    Setting(
        "REQUEST_TIMEOUT_S",
        "int",
        20,
        "seconds a prediction request may run: images of a batch not started by then (or not yet annotated) get "
        "a 503 `request_timeout` error in their slot, the others keep their results (when every image timed "
        "out, the answer itself is 503); an image already running finishes",
        minimum=1,
    ),
    # Logs and metrics
    Setting("LOG_FORMAT", "choice", "text", "`json` writes one JSON object per log line", choices=("text", "json")),
    Setting(
        "LOG_LEVEL", "choice", "INFO", "Python logging level", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    ),
    Setting(
        "PROMETHEUS_MULTIPROC_DIR",
        "text",
        None,
        "where workers write their metrics for `/metrics` to sum",
        shown="(a temporary folder)",
        app=False,
    ),
    # Tests and tools
    Setting(
        "LOAD_MODEL",
        "flag",
        True,
        "`false` starts the app without any model: readiness and predictions answer 503 (tests and tools that "
        "need only the routes)",
    ),
)
SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}


def read(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The value of one declared variable from `environ` (default os.environ), or its default."""
    environ = os.environ if environ is None else environ
    return SETTINGS_BY_NAME[name].parse(environ.get(name))


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Every declared variable that is set must be usable: the first bad one raises SettingError.

    Defaults are not worked out, so this stays light (gunicorn's master calls it before any worker starts).
    """
    environ = os.environ if environ is None else environ
    for setting in SETTINGS:
        if (environ.get(setting.name) or "").strip():
            setting.parse(environ[setting.name])


@dataclass(frozen=True)
class ServingSettings:
    """The buffered worker's limits on slow clients, as in force."""

    header_timeout_s: float
    idle_timeout_s: float
    min_bytes_per_s: float
    buffer_bytes: int

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServingSettings:
        """Every value from `environ` (default os.environ) or its default; a bad value names its variable."""
        return cls(
            header_timeout_s=read("SERVE_HEADER_TIMEOUT_S", environ),
            idle_timeout_s=read("SERVE_IDLE_TIMEOUT_S", environ),
            min_bytes_per_s=read("SERVE_MIN_BYTES_PER_S", environ),
            buffer_bytes=read("SERVE_BUFFER_BYTES", environ),
        )
