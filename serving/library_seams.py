"""The one place where the worker reaches into a library's private state, for want of a public API.

gunicorn parses `Expect: 100-continue` into a private flag and, when the application starts, writes the interim
`100 Continue` itself if the flag is still set. The buffered worker reads the body before the application runs, so
it answers the expectation itself (or refuses the body) and must then clear the flag, or the client would get a
second interim answer. tests/test_library_seams.py fails loudly when the pinned gunicorn changes this shape.

gunicorn decides whether a connection stays open after an answer from the request's and the response's headers (and
drops a `Connection` header the application sets, as hop-by-hop); the buffered worker decides from the workers' loads
when the application starts its answer. The `start_response` gunicorn hands the application is its Response's bound
method, whose `force_close()` is public: the worker reaches the Response through it.

gunicorn's parser keeps the bytes it read past a request (a client may send its next request before reading the
answer) in its unreader's buffer. The worker counts them as the next request's head, for its deadline and at SIGTERM.
"""

from __future__ import annotations

_FLAG = "_expected_100_continue"


def expects_continue(req) -> bool:
    """The client sent `Expect: 100-continue` (HTTP/1.1) and no interim answer has gone out yet."""
    return bool(getattr(req, _FLAG))


def continue_settled(req) -> None:
    """The expectation is answered (or the body refused): gunicorn must not send `100 Continue` for it."""
    setattr(req, _FLAG, False)


def close_after_answer(start_response) -> None:
    """The connection closes once this answer is sent (gunicorn then writes `Connection: close`)."""
    start_response.__self__.force_close()


def buffered_bytes(parser) -> int:
    """Bytes the parser read from the connection and has not handed out yet (the start of a next request)."""
    with parser.unreader.buf.getbuffer() as view:
        return view.nbytes
