"""PacedSocket's held head: an answer's small first write (gunicorn writes the head alone) leaves with its body."""

from __future__ import annotations

import socket

import pytest

from serving import paced_socket
from serving.paced_socket import PacedSocket

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"


class RecordingSocket:
    """A socket that accepts every byte and records each send() call."""

    def __init__(self) -> None:
        self.sends: list[bytes] = []
        self.closed = False

    def send(self, data) -> int:
        self.sends.append(bytes(data))
        return len(data)

    def settimeout(self, _timeout) -> None:
        pass

    def fileno(self) -> int:
        return -1 if self.closed else 7


@pytest.fixture
def answering() -> tuple[PacedSocket, RecordingSocket]:
    raw = RecordingSocket()
    conn = PacedSocket(raw)
    conn.start_rate_on_first_use(idle_s=5, bytes_per_s=1000)
    return conn, raw


def test_an_answers_head_and_body_leave_in_one_send(answering) -> None:
    conn, raw = answering
    conn.sendall(HEAD)
    assert raw.sends == []  # held for the body
    conn.sendall(b"hello")
    assert raw.sends == [HEAD + b"hello"]
    conn.sendall(b" more")  # later writes go straight out
    assert raw.sends[1:] == [b" more"]


def test_a_head_without_a_body_goes_out_on_send_held(answering) -> None:
    conn, raw = answering
    conn.sendall(HEAD)
    conn.send_held()
    conn.send_held()  # nothing is sent twice
    assert raw.sends == [HEAD]


def test_a_large_head_is_not_held(answering) -> None:
    conn, raw = answering
    big_head = b"X" * (paced_socket._HEAD_HOLD_BYTES + 1)
    conn.sendall(big_head)
    assert raw.sends == [big_head]


def test_a_large_body_is_not_copied_onto_the_head(answering) -> None:
    conn, raw = answering
    body = b"B" * (paced_socket._SEND_STEP + 1)
    conn.sendall(HEAD)
    conn.sendall(body)
    assert raw.sends[0] == HEAD  # alone first, then the body in steps
    assert b"".join(raw.sends) == HEAD + body


def test_writes_outside_an_answer_are_never_held() -> None:
    raw = RecordingSocket()
    conn = PacedSocket(raw)
    conn.limit_rate(idle_s=5, bytes_per_s=1000)
    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert raw.sends == [b"HTTP/1.1 100 Continue\r\n\r\n"]


def test_a_new_exchange_drops_a_head_still_held(answering) -> None:
    """An error answer written after a held head (limit_total) is a whole answer of its own."""
    conn, raw = answering
    conn.sendall(HEAD)
    conn.limit_total(2.0)
    conn.sendall(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    conn.send_held()
    assert raw.sends == [b"HTTP/1.1 408 Request Timeout\r\n\r\n"]


def test_a_head_held_for_a_socket_closed_meanwhile_is_not_sent(answering) -> None:
    conn, raw = answering
    conn.sendall(HEAD)
    raw.closed = True  # gunicorn closes the socket of an answer that failed half-way
    conn.send_held()
    assert raw.sends == []


def test_over_a_real_socket_the_client_reads_head_and_body_together() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        conn = PacedSocket(ours)
        conn.start_rate_on_first_use(idle_s=5, bytes_per_s=1000)
        conn.sendall(HEAD)
        theirs.setblocking(False)
        with pytest.raises(BlockingIOError):
            theirs.recv(100)  # nothing on the wire before the body
        conn.sendall(b"hello")
        assert theirs.recv(1000) == HEAD + b"hello"
