"""What can go wrong when calling the server; each kind has its own CLI exit code."""

from __future__ import annotations


class ClientError(Exception):
    """Base class: `str(error)` is a message a person can act on."""

    exit_code = 1


class UsageError(ClientError):
    """The arguments are wrong (bad URL, missing file, invalid parameter)."""

    exit_code = 2


class ServerUnreachable(ClientError):
    """No connection, no answer in time, or no detection API at that URL."""

    exit_code = 3


class AuthenticationError(ClientError):
    """401/403: the token is missing or not accepted."""

    exit_code = 4


class ServerError(ClientError):
    """5xx (after the retries), or an answer that is not the API's JSON."""

    exit_code = 5


class Interrupted(ClientError):
    """The run was asked to stop (Ctrl-C) while this request waited to be retried."""

    exit_code = 130  # 128 + SIGINT, as shells report it


class ImageProblem(ClientError):
    """One image was not done; the next image may still succeed."""

    exit_code = 1

    def __init__(self, message: str, status: int | None, code: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code

    def to_dict(self) -> dict:
        """The same shape as the server's `error` object."""
        return {"status": self.status, "code": self.code, "message": str(self)}


class ImageRejected(ImageProblem):
    """400/413/415/422 for one image (or a file that cannot be read): sending it again would not help."""


class ImageFailed(ImageProblem):
    """The server could not finish this image (5xx in its slot after the retries, or no answer in time)."""
