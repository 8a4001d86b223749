"""gunicorn worker: gevent connections with deadlines, whole requests buffered first, the model in a thread.

`gunicorn -k serving.worker.BufferedWorker`. Per worker process:
- every connection is a greenlet (at most `worker_connections`); its request head must arrive within
  SERVE_HEADER_TIMEOUT_S, its body and its answer at SERVE_MIN_BYTES_PER_S with no pause over
  SERVE_IDLE_TIMEOUT_S (serving/settings.py). A full worker drops its oldest connection still without a request.
- the whole body is read (at most MAX_CONTENT_LENGTH + 1 bytes, within SERVE_BUFFER_BYTES for all connections)
  before the application runs, so a slow upload costs a greenlet and its bytes, never the model;
- the application gets `environ[MODEL_THREAD_KEY]` to run decoding and the model in one real thread, so health
  checks and other connections are served meanwhile; waiting jobs take turns client by client (model_thread.py);
- while QUEUE_PER_WORKER requests are in progress (received whole, not yet answered) the worker stops accepting:
  a new connection waits in the shared accept queue for an idle worker, as with sync workers. When no worker is
  idle, the least busy worker (worker_loads.py) takes a waiting connection at once, then at most one per
  WAITING_CONNECTION_CHECK_S while more wait: every worker is busy, maybe with one client's flood, and only
  reading the request shows whose it is; another client's request behind a flood then waits for one job of each
  client present, not for the flood;
- a connection stays open for the client's next request (HTTP keep-alive: no new connection to accept and close per
  request), unless another worker is idle while this one has other requests in progress: then the answer closes it,
  so that the client's next request, on a new connection, goes to the idle worker. A kept connection waiting for
  its next request is an idle connection like a new one (SERVE_HEADER_TIMEOUT_S, dropped first when the worker is
  full, let go at SIGTERM); errors the worker answers itself are the API's JSON, and close the connection;
- a refusal reaches the client: an upload refused for a full buffer gets its 503, then the rest of its body is read
  and thrown away (at the upload pace, at most MAX_CONTENT_LENGTH bytes within REFUSAL_DRAIN_S), so a client still
  sending reads the answer instead of a reset;
- SIGTERM: connections still in the accept queue are taken and answered (503 shutting_down when every connection
  slot is taken) before the listener closes, since closing it resets them; connections that sent nothing are let
  go; requests in progress finish within gunicorn's graceful_timeout, and their answers close their connections.
"""

from __future__ import annotations

import contextlib
import errno
import io
import math
import os
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import gevent
from gevent import monkey, socket
from gevent.event import Event
from gevent.pool import Group, Pool
from gevent.select import select
from gevent.server import StreamServer
from gevent.socket import wait_read
from gunicorn import http, util
from gunicorn.http.errors import NoMoreData, ParseException
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.ggevent import GeventWorker

from . import contract
from .contract import HOLD_KEY, MODEL_THREAD_KEY
from .errors import classify, describe, error_response_bytes
from .library_seams import buffered_bytes, close_after_answer, continue_settled, expects_continue
from .model_thread import ModelThread
from .paced_socket import ClientTooSlow, PacedSocket
from .settings import ServingSettings
from .settings import read as read_setting
from .worker_loads import WorkerLoads

QUEUE_PER_WORKER = 1  # requests in progress before the worker stops accepting (waiting ones are taken later)
WAITING_CONNECTION_CHECK_S = 0.002  # an idle worker takes a new connection at once: one older is everyone's
FULL_POOL_PAUSE_S = 0.1
# Mapped here, at import in the master, so that every worker forked from it shares the table.
WORKER_LOADS = WorkerLoads()
_READ_STEP = 256 * 1024
_ERROR_SEND_S = 2.0  # time an error answer of our own gets to go out
# A refused body is read and thrown away at the pace asked of any upload, for at most this long and MAX_CONTENT_LENGTH
# bytes: a client that sends its whole request before reading (most do) then reads the refusal; a slower or endless
# one is cut off with a reset rather than holding a connection slot.
REFUSAL_DRAIN_S = 10.0
RETRY_AFTER_S = 2  # the Retry-After of a refusal
SHUTDOWN_HEAD_GRACE_S = 0.3  # at SIGTERM, a connection with nothing sent yet gets this long to send, then goes
_IGNORED_SOCKET_ERRORS = (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN)
# What a worker that does not serve (still loading its models, or stopping) writes as its requests in progress: the
# busiest, so the others neither leave waiting connections to it nor send clients its way.
NOT_SERVING_LOAD = 2**30
# A CRLF some clients send after a body is not the start of a request: a kept connection that sent only that and
# then nothing is closed silently, not answered 408.
_STRAY_EOL_BYTES = 2


class BufferFull(Exception):
    """The worker holds SERVE_BUFFER_BYTES of requests already."""


class GatedServer(StreamServer):
    """A StreamServer that does not start accepting while `paused()` says so (gevent restarts accepting itself
    when a pool slot frees; this keeps that from overriding the busy pause)."""

    paused = staticmethod(lambda: False)

    def start_accepting(self) -> None:
        if not self.paused():
            super().start_accepting()


class BufferedWorker(GeventWorker):
    """gunicorn's gevent worker, hardened for clients that are slow, idle or never read (module docstring)."""

    def init_process(self) -> None:
        if self.cfg.is_ssl:  # run() serves plain sockets: TLS belongs to the platform's router
            raise RuntimeError("the buffered worker does not serve TLS: terminate it in front (the PaaS router does)")
        self.settings = ServingSettings.from_environment()
        # gunicorn closes every connection when this is 0; handle() keeps them itself (module docstring).
        self.cfg.set("keepalive", max(1, math.ceil(self.settings.header_timeout_s)))
        self.buffered = 0
        self.in_progress = 0  # requests received whole whose answer has not been sent yet
        # The lowest free slot: a worker that replaces one takes its slot, and so its CPU (model_thread_cpu).
        self.load_slot = WORKER_LOADS.claim(0)
        WORKER_LOADS.update(self.load_slot, NOT_SERVING_LOAD)  # until run() starts accepting
        self._became_busy = Event()
        # Connections waiting for a request head, with their byte count when the wait began; oldest first.
        self.waiting_for_head: dict[gevent.Greenlet, tuple[PacedSocket, int]] = {}
        self.servers: list[StreamServer] = []
        self.shutdown_refusals = Group()  # connections taken from the accept queue at SIGTERM with no slot free
        self.terminating = False  # SIGTERM, not a restart after GUNICORN_MAX_REQUESTS
        super().init_process()  # patches, then loads the app (load_wsgi) and runs

    def patch(self) -> None:
        """gevent's patching, except threads: thread-locals stay per thread (diskcache keeps one SQLite connection
        per thread; per greenlet it would open one per connection), and the model thread is a real thread."""
        monkey.patch_all(thread=False)
        self.sockets = [socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach()) for s in self.sockets]

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app = self.wsgi
        self.max_body = int(app.config["MAX_CONTENT_LENGTH"])  # the Flask app's own limit: declared once, there
        self.model_thread = ModelThread()
        run_in_model_thread = self.model_thread.run
        another_idle = partial(WORKER_LOADS.another_idle, self.load_slot)  # the slot is claimed in init_process

        def with_model_thread(environ, start_response):
            environ[MODEL_THREAD_KEY] = run_in_model_thread
            environ[HOLD_KEY] = self._hold

            def start_response_here(status, headers, exc_info=None):
                # Decided as the answer starts, after the model ran: the loads as the client will find them.
                if not keep_connection(self.in_progress, another_idle, stopping=not self.alive):
                    close_after_answer(start_response)
                return start_response(status, headers, exc_info)

            return app(environ, start_response_here)

        self.wsgi = with_model_thread

    # -- accepting

    def run(self) -> None:
        yield_to_the_model()
        cpu = model_thread_cpu(
            read_setting("PIN_MODEL_THREADS"),
            self.load_slot,
            self.cfg.workers,
            read_setting("ORT_INTRA_OP_THREADS"),  # gunicorn.conf.py sets it when it is not set (0: unknown)
            sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [],
        )
        if cpu is not None:
            self.pin_model_thread(cpu)
        WORKER_LOADS.update(self.load_slot, 0)  # serving from here
        for listener in self.sockets:
            listener.setblocking(1)
            pool = Pool(self.worker_connections)
            server = GatedServer(listener, handle=partial(self.handle, listener.getsockname()), spawn=pool)
            server.max_accept = 1  # one connection per wake-up, so the workers share them
            server.paused = self._busy
            server.full = partial(self._full, pool)
            server.start()
            self.servers.append(server)
        for server in self.servers:
            gevent.spawn(self._take_waiting_connections, server)
        try:
            while self.alive:
                self.notify()
                gevent.sleep(1.0)
            self._drain()
        finally:
            WORKER_LOADS.release(self.load_slot)

    def pin_model_thread(self, cpu: int) -> None:
        """Keep the model thread to `cpu` (model_thread_cpu); a system that refuses leaves it to the scheduler."""
        try:
            self.model_thread.run("worker", os.sched_setaffinity, 0, {cpu})  # run in the model thread: pins that one
        except OSError as exc:  # e.g. a sandbox's seccomp: the worker serves as before
            self.log.warning("Could not keep the model thread to CPU %s: %s", cpu, exc)

    def _busy(self) -> bool:
        """Enough requests are in progress here: new connections are better served by another worker."""
        return self.in_progress >= QUEUE_PER_WORKER

    def _hold(self, seconds: float) -> None:
        """Keep this connection waiting `seconds` (the app slows down a client over its limit), while at most half
        of the connection slots are taken: a held connection holds a slot."""
        if all(server.pool.free_count() * 2 >= server.pool.size for server in self.servers):
            gevent.sleep(seconds)

    def _take_waiting_connections(self, server: StreamServer) -> None:
        """While busy, take a waiting connection when no worker is idle or less busy (module docstring)."""
        backoff = 0.0  # after an accept error (e.g. out of file descriptors), as gevent's own accepting does
        last_take = float("-inf")
        while self.alive and not server.closed:
            self._became_busy.wait()
            if not self.alive or server.closed:  # stopped while this loop waited
                return
            try:
                wait_read(server.socket.fileno(), timeout=1.0)  # asleep until a connection waits
            except (TimeoutError, OSError):
                continue  # re-check: still busy, still open
            if server.pool.full():  # every slot taken: nothing to take it into (gevent resumes when one frees)
                gevent.sleep(FULL_POOL_PAUSE_S)
                continue
            may_take = self._may_take(server)
            pause = pause_before_taking(may_take, time.monotonic() - last_take, WAITING_CONNECTION_CHECK_S)
            if backoff or pause:
                gevent.sleep(max(backoff, pause))
                may_take = self._may_take(server)  # the loads have moved meanwhile
            if may_take:
                try:
                    if self._take_one(server):  # if it is still there: another worker may have taken it
                        last_take = time.monotonic()
                    backoff = 0.0
                except OSError as exc:
                    self.log.warning("Accepting a connection failed: %s", exc)
                    backoff = min(server.max_delay, max(backoff * 2, server.min_delay))

    def _may_take(self, server: StreamServer) -> bool:
        """Busy, with a free connection slot, and no worker idle or less busy: a waiting connection is this one's."""
        return (
            self.alive
            and not server.closed
            and self._busy()
            and not server.pool.full()
            and WORKER_LOADS.least_busy(self.load_slot)  # an idle one has fewer: it accepts the connection itself
        )

    @staticmethod
    def _take_one(server: StreamServer) -> bool:
        """Accept one connection waiting in the queue and start its handler; False when none was waiting."""
        try:
            accepted = server.do_read()
        except BlockingIOError:
            return False
        if not accepted:
            return False
        server.do_handle(*accepted)
        return True

    def _full(self, pool: Pool) -> bool:
        """Every connection slot is taken (gevent stops accepting until one frees): let the oldest idle one go."""
        if pool.full():
            # Make room: a client that has not sent a request yet is the cheapest to let go.
            oldest = next(iter(self.waiting_for_head), None)
            if oldest is not None:
                self.waiting_for_head.pop(oldest)
                oldest.kill(block=False)
            return True  # gevent starts accepting again when a slot frees
        return False

    def _update_accepting(self) -> None:
        """Pause or resume accepting as the requests in progress cross QUEUE_PER_WORKER."""
        WORKER_LOADS.update(self.load_slot, self.in_progress if self.alive else NOT_SERVING_LOAD)
        busy = self._busy()
        for server in self.servers:
            if busy:
                server.stop_accepting()
            elif self.alive and server.started:
                server.start_accepting()
        if busy:
            self._became_busy.set()
        else:
            self._became_busy.clear()

    def handle_exit(self, sig, frame) -> None:
        """SIGTERM (shutdown, reload, fewer workers): remember it, then stop as gunicorn does."""
        self.terminating = True
        super().handle_exit(sig, frame)

    def _drain(self) -> None:
        """Stopping: after SIGTERM, answer what waits in the accept queue; drop connections without a request, let
        the others finish (graceful_timeout). A restart after GUNICORN_MAX_REQUESTS leaves the queue to the other
        workers, which keep the listener open."""
        WORKER_LOADS.update(self.load_slot, NOT_SERVING_LOAD)
        for server in self.servers:
            server.stop_accepting()
            if self.terminating:
                self._take_queued(server)
            server.close()  # at once: a connection queued after the last accept and before the close would be reset
        gevent.sleep(SHUTDOWN_HEAD_GRACE_S)
        for greenlet, (conn, head_from) in list(self.waiting_for_head.items()):
            if not _head_started(conn, head_from) and not _has_unread_bytes(conn):  # idle: no request on its way
                greenlet.kill(block=False)
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while time.monotonic() < deadline:
            if not self.shutdown_refusals and all(
                server.pool.free_count() == server.pool.size for server in self.servers
            ):
                return
            self.notify()
            gevent.sleep(0.1)
        self.log.warning("Worker graceful timeout (pid:%s)", self.pid)
        for server in self.servers:
            server.stop(timeout=1)
        self.shutdown_refusals.kill(timeout=1)

    def _take_queued(self, server: StreamServer) -> None:
        """Accept every connection in the queue without yielding: each is served, or refused when no slot is free."""
        while True:
            try:
                accepted = server.do_read()
            except BlockingIOError:
                return  # the queue is empty
            except OSError as exc:  # e.g. out of file descriptors: what is left is reset when the listener closes
                self.log.warning("Accepting a queued connection at shutdown failed: %s", exc)
                return
            if not accepted:
                return
            if not server.pool.full():
                server.do_handle(*accepted)
                continue
            client, addr = accepted
            self.shutdown_refusals.spawn(self._refuse_at_shutdown, client, addr)

    # -- one connection

    def handle(self, listener_name, client, addr) -> None:
        """Per request on the connection: read the head and the whole body within their deadlines, then run the
        application; until an answer closes the connection (keep_connection), the client does, or the worker stops."""
        client.setblocking(1)
        conn = PacedSocket(client)
        parser = http.get_parser(self.cfg, conn, addr)  # one per connection: it keeps bytes read past a request
        req, held, body_read, counted, head_from, proxy_info = None, [0], True, False, 0, None
        try:
            while True:
                # Each request's head gets the deadline of a new connection's, counted from the previous answer;
                # bytes the client sent before reading that answer are already part of it.
                conn.limit_total(self.settings.header_timeout_s)
                req, head_from = None, conn.received - buffered_bytes(parser)
                req = self._read_head(parser, conn, head_from)
                # A PROXY protocol header comes once, before the first request: it holds for the others too.
                proxy_info = req.proxy_protocol_info or proxy_info
                req.proxy_protocol_info = proxy_info
                body_read = self._buffer_body(req, conn, held)
                if not body_read:
                    req.must_close = True  # the rest of a body left unread would be read to find the next request
                # Counted from here: a slow upload is the client's time, and must not make the worker look busy.
                self.in_progress, counted = self.in_progress + 1, True
                self._update_accepting()
                conn.start_rate_on_first_use(self.settings.idle_timeout_s, self.settings.min_bytes_per_s)
                self._answer(listener_name, req, conn, addr)  # StopIteration when the answer closed the connection
                self.buffered, held[0] = self.buffered - held[0], 0
                self.in_progress, counted = self.in_progress - 1, False
                self._update_accepting()
                if not self.alive and not _next_request_on_its_way(parser, conn):
                    return  # stopping since this answer began (it said keep-alive), and no next request came
        except (StopIteration, NoMoreData, gevent.GreenletExit):
            pass  # answered, or the client left, or the worker let the connection go
        except ClientTooSlow as exc:
            self.log.debug("Slow client %s: %s", addr[0] if addr else "", exc)
            if _head_started(conn, head_from):  # a silent idle connection is just closed, as proxies do
                self._answer_error(req, conn, addr, 408, "client_too_slow", self._too_slow_message())
        except BufferFull:
            self.buffered, held[0] = self.buffered - held[0], 0  # the refused bytes are thrown away now
            message = "the server is receiving too many requests at once; retry shortly"
            body_read = self._refuse(req, conn, addr, "server_busy", message, "the request buffer is full")
        except OSError as exc:
            if exc.errno not in _IGNORED_SOCKET_ERRORS:
                self.log.exception("Socket error processing request.")
        except Exception as exc:  # noqa: BLE001 - gunicorn's parse errors (malformed HTTP, chunked framing), or ours
            self.handle_error(req, conn, addr, exc)
        finally:
            self.buffered -= held[0]
            if counted:
                self.in_progress -= 1
                self._update_accepting()
            if body_read:
                util.close(client)
            else:  # an unread body: half-close so the client can read our answer before the reset
                util.close_graceful(client, timeout=1.0)

    def _answer(self, listener_name, req, conn: PacedSocket, addr) -> None:
        """Run the application and write its answer (gunicorn's handle_request: its listener's name, as the
        socket may be closed by now); the head the connection held (start_rate_on_first_use) goes out last."""
        try:
            self.handle_request(listener_name, req, conn, addr)
        except StopIteration:  # gunicorn's "close the connection": the client, an error, or keep_connection said so
            conn.send_held()
            raise
        conn.send_held()

    def _refuse_at_shutdown(self, client, addr) -> None:
        """A connection taken from the accept queue at SIGTERM with every slot taken: its request gets a 503."""
        client.setblocking(1)
        conn = PacedSocket(client)
        conn.limit_total(self.settings.header_timeout_s)
        body_read = True
        try:
            req = self._read_head(http.get_parser(self.cfg, conn, addr), conn)
            message = "the server is shutting down; retry shortly"
            body_read = self._refuse(req, conn, addr, "shutting_down", message, "the worker is stopping")
        except (StopIteration, ClientTooSlow, OSError, ParseException, gevent.GreenletExit):
            pass  # no request to answer: nothing sent, the client left, or not HTTP
        finally:
            if body_read:
                util.close(client)
            else:
                util.close_graceful(client, timeout=1.0)

    def _read_head(self, parser, conn: PacedSocket, head_from: int = 0):
        """The request line and headers (the body is read later); the connection counts as idle meanwhile.
        `head_from`: the connection's byte count before this head (bytes past it are the head's)."""
        me = gevent.getcurrent()
        self.waiting_for_head[me] = (conn, head_from)
        try:
            return next(parser)
        finally:
            self.waiting_for_head.pop(me, None)

    def _buffer_body(self, req, conn: PacedSocket, held: list[int]) -> bool:
        """Read the whole body into memory; False when it was left unread (declared larger than the app allows)."""
        length = req.body.reader.length if hasattr(req.body.reader, "length") else None
        if length is not None and length > self.max_body:
            continue_settled(req)  # no "100 Continue": the client need not send what we refuse
            return False  # the application answers 413 from Content-Length alone
        if length == 0:
            return True
        if expects_continue(req):
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            continue_settled(req)  # gunicorn would send it again
        conn.limit_rate(self.settings.idle_timeout_s, self.settings.min_bytes_per_s)
        chunks, total = [], 0
        while total <= self.max_body:  # a chunked body over the limit: max_body + 1 bytes tell the app
            data = req.body.read(min(_READ_STEP, self.max_body + 1 - total))
            if not data:
                break
            if self.buffered + len(data) > self.settings.buffer_bytes:
                raise BufferFull()
            self.buffered += len(data)
            held[0] += len(data)
            chunks.append(data)
            total += len(data)
        if length is not None and total < length:
            raise NoMoreData()  # the client left before sending it all: nothing to answer
        req.body = io.BytesIO(b"".join(chunks))
        return total <= self.max_body

    # -- answers of our own

    def _too_slow_message(self) -> str:
        settings = self.settings
        return (
            f"the request did not arrive in time: the headers must arrive within {settings.header_timeout_s:g} s, "
            f"the body at {settings.min_bytes_per_s:g} bytes/s or more, without pauses of "
            f"{settings.idle_timeout_s:g} s"
        )

    def handle_error(self, req, client, addr, exc) -> None:
        """gunicorn's own error answers (400, 414, 431, 501, 500...) as JSON; logs without query strings."""
        status, code, message = classify(exc)
        if status >= 500:
            self.log.error(
                "Error handling request %s %s: %s",
                getattr(req, "method", "-"),
                getattr(req, "path", "-"),
                describe(exc),
                exc_info=exc,
            )
        else:
            self.log.warning("Invalid request from ip=%s: %s", addr[0] if addr else "", describe(exc))
        self._answer_error(req, client, addr, status, code, message)

    def _refuse(self, req, conn: PacedSocket, addr, code: str, message: str, reason: str) -> bool:
        """Answer 503 `code`, then read and throw away the rest of the body, so that a client still sending reads
        the answer rather than a reset; True when the body was read to its end (a plain close sends no reset)."""
        request_id = self._answer_error(req, conn, addr, 503, code, message, {"Retry-After": str(RETRY_AFTER_S)})
        self.log.warning(
            "503 %s for %s %s request_id=%s: %s", code, req.method, contract.loggable(req.path), request_id, reason
        )
        continue_settled(req)  # a client still waiting for "100 Continue" gets the refusal instead
        try:
            conn.shutdown(socket.SHUT_WR)  # the answer is complete: the client may stop sending and close
        except OSError:
            return True  # the client is gone
        conn.limit_rate(self.settings.idle_timeout_s, self.settings.min_bytes_per_s, within=REFUSAL_DRAIN_S)
        discarded = 0
        try:
            while discarded <= self.max_body:
                data = req.body.read(_READ_STEP)
                if not data:
                    return True
                discarded += len(data)
        except (ClientTooSlow, OSError, ParseException):
            pass
        return False

    def _answer_error(
        self, req, conn, addr, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> str:
        """Write a JSON error (best effort: the client may be gone) and log its access line; returns its request id
        (the client's when sane, as the app keeps it)."""
        if isinstance(conn, PacedSocket):
            conn.limit_total(_ERROR_SEND_S)
        id_header = contract.REQUEST_ID_HEADER
        request_id = contract.request_id_from(_header(req, id_header))
        all_headers = {**contract.SECURITY_HEADERS, **(headers or {}), id_header: request_id}
        data = error_response_bytes(status, code, message, all_headers)
        try:
            conn.sendall(data)
        except (OSError, ClientTooSlow):
            self.log.debug("Failed to send error message.")
        if req is not None:
            environ = default_environ(req, conn, self.cfg)
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = (addr[0], str(addr[1])) if addr else ("", "")
            environ["PATH_INFO"] = util.unquote_to_wsgi_str(req.path or "")
            resp = Response(req, conn, self.cfg)
            resp.status, resp.response_length, resp.sent = f"{status} {code}", len(data), len(data)
            resp.headers = [(id_header, request_id)]
            self.log.access(resp, req, environ, timedelta(0))
        return request_id


def yield_to_the_model() -> None:
    """Mark the calling thread (the connection loop), and the model thread it starts later (threads inherit it), as
    batch work for Linux's scheduler: when the loop wakes (a connection, a body chunk, an answer to send) it no longer
    preempts a model run on its core, but runs when that run's time slice ends (a few ms at most). Fewer context
    switches inside a model run keep its caches warm; at saturation this saved about 0.2 ms of the loop's and
    0.2-0.3 ms of the model's CPU per image (BENCHMARKS.md). Elsewhere a no-op."""
    if hasattr(os, "SCHED_BATCH"):
        with contextlib.suppress(OSError):  # a sandbox may refuse it: the worker runs as before
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def model_thread_cpu(mode: str, slot: int, workers: int, threads_per_worker: int, cpus: list[int]) -> int | None:
    """The CPU a worker's model thread keeps to (PIN_MODEL_THREADS), or None to leave it to the scheduler.

    With two model threads on two cores, Linux at times runs both on one core for a while (the connection loops and
    the clients' wake-ups move them): those runs take twice as long and their caches go cold. One CPU each, by the
    worker's slot, avoids it. `auto` pins only when the workers fill the CPUs this process may use: on a host shared
    with other servers (a PaaS dyno that sees every CPU of its host) a pinned thread could not move away from a busy
    neighbour."""
    if mode == "off" or not cpus:
        return None
    if mode == "auto" and workers * threads_per_worker != len(cpus):
        return None
    return cpus[slot % len(cpus)]


def keep_connection(in_progress: int, another_worker_idle: Callable[[], bool], stopping: bool = False) -> bool:
    """Whether a connection stays open after the answer now starting (one of the `in_progress` requests here): yes,
    unless the worker is stopping, or another worker is idle while this one has other requests to answer.

    A client's next request on a kept connection comes back to this worker; on a new connection it goes to whichever
    worker accepts it first, an idle one. At saturation no worker is idle, and every connection is kept. The loads
    are read only when it matters."""
    return not stopping and (in_progress <= 1 or not another_worker_idle())


def pause_before_taking(may_take: bool, since_last_take: float, interval: float) -> float:
    """Seconds a busy worker waits before it looks at a waiting connection again: none when it may take it and took
    none within `interval`; else what is left of the interval (a burst is shared out, one per interval per worker),
    or the whole interval when another worker, idle or less busy, is the one to take it."""
    if not may_take:
        return interval
    return max(0.0, interval - since_last_take)


def _header(req, name: str) -> str | None:
    """The value of a request header (gunicorn keeps names upper-case), None without a request or header."""
    wanted = name.upper()
    return next((value for key, value in getattr(req, "headers", ()) if key == wanted), None)


def _next_request_on_its_way(parser, conn: PacedSocket) -> bool:
    """Whether a client, told its connection is kept, sends a next request within SHUTDOWN_HEAD_GRACE_S (it may have
    sent it before it read the answer): a stopping worker serves that one too, rather than reset it."""
    if buffered_bytes(parser):
        return True
    try:
        wait_read(conn.fileno(), timeout=SHUTDOWN_HEAD_GRACE_S)
    except (TimeoutError, OSError):
        return False
    return True


def _head_started(conn: PacedSocket, head_from: int) -> bool:
    """Bytes of a request head have come in since `head_from` (besides a stray CRLF after the previous request)."""
    return conn.received - head_from > _STRAY_EOL_BYTES


def _has_unread_bytes(conn: PacedSocket) -> bool:
    """Bytes wait on the connection (a request on its way), without reading them."""
    try:
        return bool(select([conn.fileno()], [], [], 0)[0])
    except (OSError, ValueError):  # closed meanwhile
        return False
