"""The one place where the worker reaches into a library's private state, for want of a public API.

gunicorn parses `Expect: 100-continue` into a private flag and, when the application starts, writes the interim
`100 Continue` itself if the flag is still set. The buffered worker reads the body before the application runs, so
it answers the expectation itself (or refuses the body) and must then clear the flag, or the client would get a
second interim answer. tests/test_library_seams.py fails loudly when the pinned gunicorn changes this shape.
"""

from __future__ import annotations

_FLAG = "_expected_100_continue"


def expects_continue(req) -> bool:
    """The client sent `Expect: 100-continue` (HTTP/1.1) and no interim answer has gone out yet."""
    return bool(getattr(req, _FLAG))


def continue_settled(req) -> None:
    """The expectation is answered (or the body refused): gunicorn must not send `100 Continue` for it."""
    setattr(req, _FLAG, False)
