"""Client throughput: images/s of the `detect` command's bulk run by requests in flight and images per request.

    .venv/bin/python -m tools.bench_client [--url URL] [--images 96] [--concurrency 1 2 4 8] [--batch 1 4 16]
        [--repeat 3] [--workers 2] [--rtt MS]

Without --url it starts the Procfile's gunicorn on loopback with --workers workers, the result cache and the
rate limit off (tests/servers.py, as the tests do). Every cell sends --images distinct photos (the coco-dev
photos, each copy made unique by a few bytes after the JPEG's end, so no cache can answer) through the same
Runner `detect` uses, writing nothing. Baseline, measured in the same run: the old client's way, one image
per request, one request at a time (concurrency 1, batch 1). Each of --repeat rounds runs every cell once,
in a shuffled order; the table shows the median images/s, the median over rounds of its ratio to the same
round's baseline (which cancels a load that drifts between rounds), and the spread of images/s (min-max).
The machine's load average is printed: on a shared machine, compare ratios, not rates. --rtt puts a
loopback proxy in front that adds that network round trip to each connection's set-up and to each answer
(as a server far away: the server closes each connection after its answer, so every request pays both).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import socket
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
from detection_client.bulk import Runner, Settings
from detection_client.client import DetectionClient
from detection_client.files import OutputFiles
from detection_client.images import collect_images

PHOTOS = ROOT / "tests" / "data" / "coco-dev" / "images"


def unique_photos(folder: Path, count: int, tag: str) -> list[Path]:
    """`count` copies of the coco-dev photos, each with different bytes (same pixels)."""
    sources = sorted(PHOTOS.glob("*.jpg"))
    folder.mkdir(parents=True)
    paths = []
    for i, source in zip(range(count), itertools.cycle(sources)):
        path = folder / f"{i:05d}.jpg"
        path.write_bytes(source.read_bytes() + f"{tag}-{i}".encode())  # after the JPEG end marker: ignored by decoders
        paths.append(path)
    return paths


@contextmanager
def delaying_proxy(url: str, rtt: float):
    """A loopback TCP proxy in front of `url` that costs each connection a round trip to open and one before
    its answer, as a distant server would (bandwidth unlimited); yields its URL."""
    target = urlsplit(url)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    closing = threading.Event()

    def pipe(source: socket.socket, sink: socket.socket, delay: float) -> None:
        try:
            while data := source.recv(65536):
                time.sleep(delay)  # before the first chunk only
                delay = 0
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def handle(client: socket.socket) -> None:
        time.sleep(rtt)  # the TCP handshake
        with client, socket.create_connection((target.hostname, target.port)) as upstream:
            answer = threading.Thread(target=pipe, args=(upstream, client, rtt), daemon=True)
            answer.start()
            pipe(client, upstream, 0)
            answer.join()

    def accept() -> None:
        while not closing.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(connection,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        closing.set()
        acceptor.join()
        listener.close()


def run_cell(url: str, folder: Path, concurrency: int, batch: int) -> float:
    """Images per second of one bulk run over the folder."""
    stop = threading.Event()
    settings = Settings(concurrency=concurrency, batch_size=batch, max_request_bytes=20 * 1024 * 1024)
    runner = Runner(lambda: DetectionClient(url, timeout=120, stop=stop), settings, OutputFiles(None, None), [], stop)
    started = time.perf_counter()
    summary = runner.run(collect_images([str(folder)]))
    seconds = time.perf_counter() - started
    if runner.fatal or summary.done != summary.total:
        raise SystemExit(f"cell c={concurrency} b={batch} did not finish: {runner.fatal or summary.lines()}")
    return summary.done / seconds


def main(argv: list[str] | None = None) -> dict[tuple[int, int], list[float]]:
    """Measure every cell, print the table; returns images/s per (concurrency, batch)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (default: start a local gunicorn)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the server started here (default 2)")
    parser.add_argument("--images", type=int, default=96, help="images per cell (default 96)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rtt", type=float, default=0, help="milliseconds of network round trip to add (default 0)")
    args = parser.parse_args(argv)
    cells = [(1, 1)] + [(c, b) for c in args.concurrency for b in args.batch if (c, b) != (1, 1)]
    if args.url:
        server = nullcontext(argparse.Namespace(url=args.url))
    else:
        from tools.servers import gunicorn_server

        server = gunicorn_server(env={"CACHE_BYTES": "0"}, workers=args.workers)  # RATE_LIMIT off there too
    rates: dict[tuple[int, int], list[float]] = {cell: [] for cell in cells}
    load_before = os.getloadavg()[0]
    with (
        server as running,
        tempfile.TemporaryDirectory(prefix="bench-client-") as scratch,
        delaying_proxy(running.url, args.rtt / 1000) if args.rtt else nullcontext(running.url) as url,
    ):
        run_cell(url, Path(unique_photos(Path(scratch) / "warm-up", 8, "warm-up")[0]).parent, 2, 1)
        for round_number in range(args.repeat):
            for c, b in random.Random(round_number).sample(cells, len(cells)):  # no cell always first or last
                folder = Path(scratch) / f"r{round_number}-c{c}-b{b}"
                unique_photos(folder, args.images, folder.name)
                rates[(c, b)].append(run_cell(url, folder, c, b))
    ratios = {cell: [rate / base for rate, base in zip(rates[cell], rates[(1, 1)])] for cell in cells}
    where = args.url or f"local gunicorn, {args.workers} workers (Procfile), result cache off"
    where += f", {args.rtt:g} ms round trip added" if args.rtt else ""
    print(
        f"{args.images} distinct coco-dev photos per cell, {args.repeat} rounds, {where}; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"{'in flight':>9} {'batch':>5} {'img/s':>7} {'x baseline':>10} {'min-max':>13}")
    for c, b in cells:
        median = statistics.median(rates[(c, b)])
        print(
            f"{c:>9} {b:>5} {median:7.1f} {statistics.median(ratios[(c, b)]):10.2f} "
            f"{min(rates[(c, b)]):6.1f}-{max(rates[(c, b)]):<6.1f}"
        )
    return rates


if __name__ == "__main__":
    main()
