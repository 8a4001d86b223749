"""`detect URL IMAGES...`: send images to the server, print a table or JSON, optionally write files."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .client import PARAMETERS, DetectionClient
from .errors import ClientError, ImageRejected, UsageError
from .files import OutputNames, write_annotated, write_json
from .images import ImageInput, collect_images
from .output import image_record, table_header, table_rows, to_json

TOKEN_VARIABLE = "DETECTION_API_TOKEN"  # keeps the token out of shell history and `ps`


def build_parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    parser = argparse.ArgumentParser(
        prog="detect",
        description="Detect objects in images with a running detection server.",
        epilog="Exit codes: 0 ok, 1 an image was rejected, 2 usage, 3 server unreachable or wrong URL, "
        "4 API token missing or refused, 5 server error.",
    )
    parser.add_argument("url", help="server root (http://localhost:5000) or its /api/predict URL")
    parser.add_argument("images", nargs="+", help='image files, folders of images, or "-" for standard input')
    parser.add_argument("--token", default=os.environ.get(TOKEN_VARIABLE), help=f"API token (default: ${TOKEN_VARIABLE})")
    parser.add_argument("--score-th", type=float, help="minimum score, 0..1 (server default 0.3)")
    parser.add_argument("--nms-iou", type=float, help="IoU above which overlapping boxes merge, 0..1 (default 0.4)")
    parser.add_argument("--min-height", type=float, help="minimum box height, fraction of the image (default 0.03)")
    parser.add_argument("--min-width", type=float, help="minimum box width, fraction of the image (default 0.03)")
    parser.add_argument("--max-results", type=int, help="at most this many boxes per image (default 20)")
    parser.add_argument("--classes", type=_class_list, help="keep only these classes, e.g. person,cup (names or ids)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each answer (default 30)")
    parser.add_argument("--retries", type=int, default=3, help="retries when unreachable or not ready (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--annotate-dir", type=Path, help="write each image with its boxes drawn, as PNG, here")
    parser.add_argument("--json-dir", type=Path, help="write each image's result as JSON here")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        inputs = collect_images(args.images)
        client = DetectionClient(args.url, token=args.token, timeout=args.timeout, retries=args.retries)
    except UsageError as exc:
        return _fail(exc)
    with client:
        return _run(client, inputs, args)


def _run(client: DetectionClient, inputs: list[ImageInput], args: argparse.Namespace) -> int:
    """Predict each image in turn; a rejected image is reported and the rest still run."""
    params = {name: getattr(args, name) for name in PARAMETERS}  # argparse's dests are the same names
    names, records, failed, found = OutputNames(), [], 0, 0
    file_width = max(len(item.name) for item in inputs)
    header_due = not args.json  # printed with the first row, so a failure prints only its message
    for item in inputs:
        stem = names.stem_for(item.name)  # the same name for its PNG and its JSON
        try:
            data = item.read()
            result = client.predict(data, **params)
        except ImageRejected as exc:
            if exc.code == "invalid_parameter":  # the same for every image: stop now
                return _fail(UsageError(str(exc)))
            failed += 1
            print(f"detect: {item.name}: {exc}", file=sys.stderr)
            record = image_record(item.name, error=exc.to_dict())
        except ClientError as exc:  # unreachable, token, server failure: every image would fail alike
            return _fail(exc)
        else:
            found += len(result["detections"])
            record = image_record(item.name, result)
            if not args.json:
                lines = [table_header(file_width)] if header_due else []
                header_due = False
                print("\n".join(lines + table_rows(item.name, result, file_width)), flush=True)
            if args.annotate_dir:
                _annotate(args.annotate_dir, stem, data, result, item.name)
        if args.json_dir:
            write_json(args.json_dir, stem, record)
        records.append(record)
    if args.json:
        print(to_json(records))
    if len(inputs) > 1:
        print(f"{len(inputs)} images: {len(inputs) - failed} done, {failed} rejected, {found} detections", file=sys.stderr)
    return ImageRejected.exit_code if failed else 0


def _annotate(folder: Path, stem: str, data: bytes, result: dict, name: str) -> None:
    """Write the annotated PNG; a local decoding problem is a warning, not a failure."""
    from inference import InferenceError

    try:
        write_annotated(folder, stem, data, result)
    except InferenceError as exc:
        print(f"detect: {name}: not annotated: {exc}", file=sys.stderr)


def _class_list(text: str) -> list[str | int]:
    """"person,cup" -> ["person", "cup"]; digits are class ids."""
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give at least one class name or id")
    return [int(item) if item.isdigit() else item for item in items]


def _fail(error: ClientError) -> int:
    """Print the error for a person and return its exit code."""
    print(f"detect: {error}", file=sys.stderr)
    return error.exit_code
