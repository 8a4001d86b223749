"""A bulk run: skip images finished before, send the rest in batches from N threads, route each outcome."""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from .annotate import CannotAnnotate, annotated_png
from .client import DetectionClient
from .errors import ClientError, ImageProblem, ImageRejected, Interrupted, UsageError
from .files import OutputFiles, OutputNames
from .images import ImageInput
from .output import image_record
from .progress import Progress, Summary
from .sinks import Sink

REQUEST_OVERHEAD_BYTES = 200  # JSON around each image's base64 in a batch body
# Measured (docs/client.md, tools/bench_client.py): requests in flight per server worker, and without a count.
IN_FLIGHT_PER_WORKER = 2
FALLBACK_CONCURRENCY = 4
BATCH_SIZE = 4


def default_concurrency(server_workers: int | None) -> int:
    """Requests in flight: enough to keep every server worker busy while answers travel."""
    return server_workers * IN_FLIGHT_PER_WORKER if server_workers else FALLBACK_CONCURRENCY


def default_batch_size(images: int, concurrency: int, max_batch: int) -> int:
    """Images per request: BATCH_SIZE within the server's limit, fewer for a short run (every thread gets work)."""
    return max(1, min(BATCH_SIZE, max_batch, -(-images // concurrency)))


@dataclass(frozen=True)
class Job:
    """One image of the run: its place in the input order and its output file stem."""

    index: int
    item: ImageInput
    stem: str


@dataclass
class Settings:
    """How the run sends: requests in flight, images per request, body size limit, prediction parameters."""

    concurrency: int
    batch_size: int
    max_request_bytes: int | None = None
    params: dict = field(default_factory=dict)
    overwrite: bool = False
    palette: tuple[str, ...] = ()
    progress: str = "off"  # "bar", "lines" or "off"
    progress_interval: float = 10.0


class Runner:
    """Runs one command's images; `stop` (set by Ctrl-C or by a failure every image would share) ends it
    after the requests in flight have been answered and their files written."""

    def __init__(
        self,
        make_client: Callable[[], DetectionClient],
        settings: Settings,
        files: OutputFiles,
        sinks: list[Sink],
        stop: threading.Event,
    ) -> None:
        self.make_client, self.settings, self.files, self.sinks, self.stop = make_client, settings, files, sinks, stop
        self.summary = Summary()
        self.fatal: ClientError | None = None  # what stopped the run, if not Ctrl-C
        self._local = threading.local()
        self._clients: list[DetectionClient] = []
        self._clients_lock = threading.Lock()
        self.progress = Progress(0, "off")
        self._stop_announced = False

    def run(self, inputs: list[ImageInput]) -> Summary:
        """Send every image not finished before; returns the summary (see .fatal for why it stopped early)."""
        names = OutputNames()
        jobs = [Job(i, item, names.stem_for(item.name)) for i, item in enumerate(inputs)]
        self.summary.total = len(jobs)
        started = time.monotonic()
        try:
            self.files.clean_up()
            to_send = [job for job in jobs if not self._finished_before(job)]
            self.progress = Progress(len(to_send), self.settings.progress, self.settings.progress_interval)
            if self.summary.skipped and self.settings.progress != "off":
                self.progress.write(
                    f"detect: {self.summary.skipped} of {len(jobs)} images done before, "
                    f"sending the other {len(to_send)}",
                    sys.stderr,
                )
            with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="detect") as pool:
                self._send_all(pool, to_send)
        except OSError as exc:  # an output folder that cannot be cleaned up or read
            self._stop_for(_cannot_write(exc))
        finally:
            self.summary.seconds = time.monotonic() - started
            self.progress.close()
            for client in self._clients:
                client.close()
            for sink in self.sinks:
                try:
                    sink.close()
                except OSError as exc:
                    self._stop_for(_cannot_write(exc))
        return self.summary

    def _stop_for(self, error: ClientError) -> None:
        """Stop sending because of `error` (the first one is what the command reports)."""
        if self.fatal is None:
            self.fatal = error
        self.stop.set()

    def _finished_before(self, job: Job) -> bool:
        """Whether a previous run's files for this image are there and valid (then they are reported, not redone)."""
        if self.settings.overwrite or not self.files.any or job.item.path is None:
            return False
        sha256 = None
        json_path = self.files.json_path(job.stem)
        if json_path is not None:
            if not json_path.is_file():
                return False
            try:
                sha256 = hashlib.sha256(job.item.read()).hexdigest()
            except UsageError:
                return False
        record = self.files.done_record(job.stem, job.item.name, sha256)
        if record is None:
            return False
        self.summary.skipped += 1
        if record:
            self.summary.classes.update(d["class_name"] for d in record["detections"])
            for sink in self.sinks:
                sink.image(job.index, record, fresh=False)
        return True

    def _send_all(self, pool: ThreadPoolExecutor, jobs: list[Job]) -> None:
        """Read images in order, group them into batches, keep `concurrency` requests in flight."""
        in_flight: set[Future] = set()
        batch: list[tuple[Job, bytes]] = []
        batch_bytes = 0
        limit = self.settings.max_request_bytes
        for job in jobs:
            if self.stop.is_set():
                break
            try:
                data = job.item.read()
            except UsageError as exc:
                self._record(job, ImageRejected(str(exc), None, "unreadable_file"))
                continue
            size = 4 * (len(data) + 2) // 3 + REQUEST_OVERHEAD_BYTES
            if batch and (len(batch) >= self.settings.batch_size or (limit and batch_bytes + size > limit)):
                in_flight = self._submit(pool, in_flight, batch)
                batch, batch_bytes = [], 0
            batch.append((job, data))
            batch_bytes += size
        if batch and not self.stop.is_set():
            in_flight = self._submit(pool, in_flight, batch)
        while in_flight:
            in_flight = self._collect(in_flight)
        self._announce_ctrl_c()

    def _announce_ctrl_c(self) -> None:
        """Say once that Ctrl-C was heard (the signal handler itself must not print)."""
        if self.stop.is_set() and self.fatal is None and not self._stop_announced:
            self._stop_announced = True
            message = "detect: stopping after the requests in flight (Ctrl-C again to quit at once)"
            self.progress.write(message, sys.stderr)

    def _submit(self, pool: ThreadPoolExecutor, in_flight: set[Future], batch: list[tuple[Job, bytes]]) -> set[Future]:
        """Send the batch once fewer than `concurrency` requests are in flight (not at all once stopping)."""
        while len(in_flight) >= self.settings.concurrency and not self.stop.is_set():
            in_flight = self._collect(in_flight)
        if not self.stop.is_set():
            in_flight.add(pool.submit(self._send, batch))
        return in_flight

    def _collect(self, in_flight: set[Future]) -> set[Future]:
        """Wait a little for answers and report them; returns the requests still in flight."""
        done, pending = wait(in_flight, timeout=0.2, return_when=FIRST_COMPLETED)
        self._announce_ctrl_c()
        for future in done:
            try:
                outcomes = future.result()
            except Interrupted:
                continue  # stopped while waiting to retry: those images are simply not done
            except ClientError as exc:  # every image would fail alike: stop sending
                self._stop_for(exc)
                continue
            except OSError as exc:  # an output file cannot be written: nor will the next
                self._stop_for(_cannot_write(exc))
                continue
            for job, outcome in outcomes:
                self._record(job, outcome)
        self.progress.tick()
        return pending

    def _send(self, batch: list[tuple[Job, bytes]]) -> list[tuple[Job, dict | ImageProblem]]:
        """In a worker thread: one request for the batch, then each image's files; returns the outcomes."""
        client = self._client()
        outcomes = client.predict_batch([data for _, data in batch], **self.settings.params)
        done = []
        for (job, data), outcome in zip(batch, outcomes):
            if isinstance(outcome, ImageProblem):
                self.files.write(job.stem, image_record(job.item.name, error=outcome.to_dict()), None)
                done.append((job, outcome))
                continue
            record = image_record(job.item.name, outcome)
            record["image"] = {**record["image"], "sha256": hashlib.sha256(data).hexdigest()}
            png = None
            if self.files.annotate_dir:
                try:
                    png = annotated_png(data, record, self.settings.palette)
                except CannotAnnotate as exc:
                    self.progress.write(f"detect: {job.item.name}: not annotated: {exc}", sys.stderr)
            self.files.write(job.stem, record, png)
            done.append((job, record))
        return done

    def _client(self) -> DetectionClient:
        """This thread's client (an HTTP session is not shared between threads)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self.make_client()
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _record(self, job: Job, outcome: dict | ImageProblem) -> None:
        """Count an image's outcome, report a problem, and hand its record to the sinks."""
        if isinstance(outcome, ImageProblem):
            record = image_record(job.item.name, error=outcome.to_dict())
            if isinstance(outcome, ImageRejected):
                self.summary.rejected += 1
            else:
                self.summary.failed += 1
            self.progress.write(f"detect: {job.item.name}: {outcome}", sys.stderr)
        else:
            record = outcome
            self.summary.done += 1
            self.summary.classes.update(d["class_name"] for d in record["detections"])
        self.progress.advance(1, int(isinstance(outcome, ImageProblem)))
        for sink in self.sinks:
            sink.image(job.index, record, fresh=True)


def _cannot_write(exc: OSError) -> UsageError:
    """An output file that cannot be written, for a person."""
    return UsageError(f"cannot write {exc.filename or 'an output file'}: {exc.strerror or exc}")
