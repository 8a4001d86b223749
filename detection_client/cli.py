"""`detect URL IMAGES...`: send images to the server (concurrently, in batches), print and write the results."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Self

from .annotate import require_pillow
from .bulk import Runner, Settings, default_batch_size, default_concurrency
from .client import PARAMETERS, DetectionClient
from .coco import CocoCategories, CocoImageIds, read_reference
from .errors import ClientError, Interrupted, UsageError
from .files import OutputFiles
from .images import collect_images
from .sinks import CocoFile, CsvFile, JsonArrayOut, JsonLinesOut, Sink, TableOut

TOKEN_VARIABLE = "DETECTION_API_TOKEN"  # keeps the token out of shell history and `ps`


def build_parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    parser = argparse.ArgumentParser(
        prog="detect",
        description="Detect objects in images with a running detection server.",
        epilog="Exit codes: 0 every image done, 1 an image rejected or failed, 2 usage, 3 server unreachable or "
        "wrong URL, 4 API token missing or refused, 5 server error, 130 stopped by Ctrl-C.",
    )
    parser.add_argument("url", help="server root (http://localhost:5000) or its /api/predict URL")
    parser.add_argument("images", nargs="+", help='image files, folders of images, or "-" for standard input')
    parser.add_argument(
        "--token", default=os.environ.get(TOKEN_VARIABLE), help=f"API token (default: ${TOKEN_VARIABLE})"
    )
    found = parser.add_argument_group("what to find (omitted: the server's defaults)")
    found.add_argument("--score-th", type=float, help="minimum score, 0..1")
    found.add_argument("--nms-iou", type=float, help="IoU above which overlapping boxes of a class merge, 0..1")
    found.add_argument("--min-height", type=float, help="minimum box height, fraction of the image height")
    found.add_argument("--min-width", type=float, help="minimum box width, fraction of the image width")
    found.add_argument("--max-results", type=int, help="at most this many boxes per image")
    found.add_argument("--classes", type=_class_list, help="keep only these classes, e.g. person,cup (names or ids)")
    found.add_argument("--model", help="the server's model to use (GET /api/models lists them)")
    sending = parser.add_argument_group("sending")
    sending.add_argument(
        "--concurrency", type=_positive, help="requests in flight (default: 2 per server worker if it says, else 4)"
    )
    sending.add_argument(
        "--batch-size", type=_positive, help="images per request (default 4, at most the server's limit)"
    )
    sending.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each answer (default 30)")
    sending.add_argument("--retries", type=int, default=3, help="retries if unreachable, busy or not ready (default 3)")
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("table", "jsonl", "json"),
        default="table",
        help="stdout: a table, a JSON line per image as answers come, or a JSON array at the end",
    )
    out.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    out.add_argument("--csv", type=Path, help="write one row per detection to this CSV file")
    out.add_argument("--coco", type=Path, help="write COCO results (images, categories, scored annotations) here")
    out.add_argument("--coco-reference", type=Path, help="COCO annotation file: --coco uses its image and category ids")
    out.add_argument("--json-dir", type=Path, help="write each image's result as DIR/<name>.json")
    out.add_argument("--annotate-dir", type=Path, help="write each image with its boxes drawn as DIR/<name>.png")
    out.add_argument("--overwrite", action="store_true", help="redo images whose files a previous run wrote")
    out.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "off"),
        default="auto",
        help="on stderr: a bar on a terminal, else a line every --progress-every s (auto)",
    )
    out.add_argument("--progress-every", type=float, default=10.0, help="seconds between progress lines (default 10)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    try:
        return _main(build_parser().parse_args(argv))
    except KeyboardInterrupt:  # before the run started (while asking the server what it serves)
        print("detect: stopped", file=sys.stderr)
        return Interrupted.exit_code


def _main(args: argparse.Namespace) -> int:
    """Ask the server for its limits, run every image, report."""
    stop = threading.Event()

    def make_client() -> DetectionClient:
        return DetectionClient(args.url, token=args.token, timeout=args.timeout, retries=args.retries, stop=stop)

    try:
        inputs = collect_images(args.images)
        if args.annotate_dir:
            require_pillow()
        if args.csv or args.coco:
            _refuse_resume_without_records(args)
        reference = read_reference(args.coco_reference) if args.coco_reference else None
        with make_client() as client:
            info = client.server_info(args.model)
    except ClientError as exc:
        return _fail(exc)
    concurrency = args.concurrency or default_concurrency(info.workers)
    settings = Settings(
        concurrency=concurrency,
        batch_size=min(args.batch_size or default_batch_size(len(inputs), concurrency, info.max_batch), info.max_batch),
        max_request_bytes=info.max_request_bytes,
        params={name: getattr(args, name) for name in PARAMETERS},  # argparse's dests are the same names
        overwrite=args.overwrite,
        palette=info.palette,
        progress=_progress_mode(args.progress),
        progress_interval=args.progress_every,
    )
    runner = Runner(make_client, settings, OutputFiles(args.json_dir, args.annotate_dir), [], stop)
    runner.sinks = _sinks(args, inputs, info.class_names, reference, runner)
    with _stop_on_ctrl_c(stop, runner) as ctrl_c:
        summary = runner.run(inputs)
    interrupted = ctrl_c.interrupted
    if summary.total > 1 or interrupted or runner.fatal:
        for line in summary.lines():
            print(f"detect: {line}", file=sys.stderr)
    if runner.fatal:
        return _fail(runner.fatal)
    if interrupted:
        if args.json_dir or args.annotate_dir:
            print("detect: stopped; run the same command again to do the rest", file=sys.stderr)
        return Interrupted.exit_code
    return 1 if summary.rejected or summary.failed else 0


def _sinks(
    args: argparse.Namespace, inputs: list, class_names: tuple[str, ...], reference: dict | None, runner: Runner
) -> list[Sink]:
    """The outputs asked for."""

    def to_stdout(text: str) -> None:
        runner.progress.write(text, sys.stdout)

    def warn(text: str) -> None:
        print(f"detect: {text}", file=sys.stderr)

    sinks: list[Sink] = []
    if args.format == "table":
        sinks.append(TableOut(max(len(item.name) for item in inputs), to_stdout))
    elif args.format == "jsonl":
        sinks.append(JsonLinesOut(to_stdout))
    else:
        sinks.append(JsonArrayOut())
    if args.csv:
        sinks.append(CsvFile(args.csv))
    if args.coco:
        categories = CocoCategories(reference["categories"]) if reference else CocoCategories.for_model(class_names)
        image_ids = CocoImageIds([item.name for item in inputs], reference)
        sinks.append(CocoFile(args.coco, categories, image_ids, warn))
    return sinks


def _refuse_resume_without_records(args: argparse.Namespace) -> None:
    """--csv/--coco cover every image: resuming from PNGs alone would leave the earlier images out."""
    if args.annotate_dir and not args.json_dir and not args.overwrite:
        raise UsageError(
            "--csv and --coco with --annotate-dir need --json-dir too (a rerun reads earlier results "
            "from it), or --overwrite to redo every image"
        )


class _stop_on_ctrl_c:
    """First Ctrl-C: stop sending and finish the requests in flight. Second: quit at once."""

    def __init__(self, stop: threading.Event, runner: Runner) -> None:
        self.stop, self.runner, self.interrupted, self._previous = stop, runner, False, None

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum: int, frame: object) -> None:
        # Only flags and raw writes here: the main thread may be inside print() (the runner announces the stop).
        if self.interrupted:
            os.write(2, b"\ndetect: stopped at once; files being written are left as .partial temporaries\n")
            os._exit(Interrupted.exit_code)
        self.interrupted = True
        self.stop.set()


def _progress_mode(choice: str) -> str:
    """ "auto" -> a bar on a terminal, plain lines otherwise."""
    if choice != "auto":
        return choice
    return "bar" if sys.stderr.isatty() else "lines"


def _positive(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _class_list(text: str) -> list[str | int]:
    """ "person,cup" -> ["person", "cup"]; digits are class ids."""
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give at least one class name or id")
    return [int(item) if item.isdigit() else item for item in items]


def _fail(error: ClientError) -> int:
    """Print the error for a person and return its exit code."""
    print(f"detect: {error}", file=sys.stderr)
    return error.exit_code
