"""One client's flood does not starve another: the Procfile's gunicorn reads requests that wait behind a flood and
gives each client its turn at the model (serving/worker.py, serving/model_thread.py).

Ordered by events, not by sleeps: the other client sends once the whole flood is at the server, its arrival is the
moment the worker accepts its connection, and the order of answers is the server's own (its access lines).
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tools.scale_parts import session_from
from tools.servers import ROOT, established_connections, gunicorn_server, listen_backlog, worker_pids

pytestmark = pytest.mark.server

PHOTO = (ROOT / "tests" / "data" / "photos" / "astronaut.jpg").read_bytes()
FLOOD = 16
EVENT_LIMIT_S = 15
FLOOD_ADDRESS, OTHER_ADDRESS = "127.0.0.2", "127.0.0.3"
_ACCESS_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO \[pid \d+\] \[([\w-]+)\] webapp\.access: ", re.MULTILINE
)


def wait_for(event, what: str) -> float:
    """Poll until `event()` is true; the wall-clock time it was seen (the server's log uses the same clock)."""
    deadline = time.monotonic() + EVENT_LIMIT_S
    while not event():
        assert time.monotonic() < deadline, what
        time.sleep(0.002)
    return time.time()


def accepted_from(pid: int, port: int, address: str) -> bool:
    """The process holds an accepted connection from `address` to 127.0.0.1:port (not one waiting in the queue)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    local, remote = f"0100007F:{port:04X}", "".join(f"{int(part):02X}" for part in reversed(address.split(".")))
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return any(row[1] == local and row[2].startswith(remote + ":") and row[9] in inodes for row in rows)


def answered_at(log: str) -> dict[str, float]:
    """Request id -> when the app logged its answer (wall clock), from the server's access lines."""
    return {
        request_id: datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        for stamp, request_id in _ACCESS_LINE.findall(log)
    }


def test_a_request_behind_another_clients_flood_is_answered_after_one_of_its_images():
    # One worker, no result cache: every request runs the model, one at a time.
    env = {"CACHE_BYTES": "0", "MODELS": "yolox_nano", "LOG_FORMAT": "text"}
    answered_by_client: set[str] = set()

    def predict(address: str, name: str) -> int:
        with session_from(address) as session:
            answer = session.post(
                server.url + "/api/predict",
                files={"image": ("a.jpg", PHOTO)},
                headers={"X-Request-Id": name},
                timeout=60,
            )
        answered_by_client.add(name)
        return answer.status_code

    def flood_at_the_server() -> bool:
        """Every flood request is at the server: waiting in the accept queue, held by the worker, or answered."""
        answered = sum(name.startswith("flood") for name in list(answered_by_client))
        return listen_backlog(port) + established_connections(worker, port) + answered >= FLOOD

    with gunicorn_server(env=env, workers=1) as server, ThreadPoolExecutor(FLOOD + 1) as pool:
        port, (worker,) = urlsplit(server.url).port, worker_pids(server.process.pid)
        flood = [pool.submit(predict, FLOOD_ADDRESS, f"flood{i}") for i in range(FLOOD)]
        wait_for(flood_at_the_server, "the flood did not reach the server")
        other = pool.submit(predict, OTHER_ADDRESS, "other")
        # Behind the flood in the accept queue, the other request arrives when the worker takes its connection.
        other_arrived = wait_for(lambda: accepted_from(worker, port, OTHER_ADDRESS) or other.done(), "never taken")
        statuses = [future.result() for future in [*flood, other]]
        answered = answered_at(server.log())
    assert statuses == [200] * (FLOOD + 1)
    assert set(answered) >= {"other", *(f"flood{i}" for i in range(FLOOD))}, sorted(answered)
    order = sorted(answered, key=answered.get)
    # First come, first served would answer it after every flood image still waiting (a dozen or more); with turns
    # by client at most two go first: the one running when it arrives, and one handed the thread just before.
    meanwhile = [
        name for name in order if name.startswith("flood") and other_arrived < answered[name] < answered["other"]
    ]
    assert len(meanwhile) <= 2, (meanwhile, order)
    after = [name for name in order if name.startswith("flood") and answered[name] > answered["other"]]
    assert len(after) >= FLOOD // 2, order  # the flood was still there


def test_a_flood_over_kept_connections_still_lets_another_client_in_after_one_of_its_images():
    """Kept connections (keep-alive) bring a client's next requests straight back to the worker, past the accept
    queue: the other client's request must still get its turn after at most two of the flood's images."""
    env = {"CACHE_BYTES": "0", "MODELS": "yolox_nano", "LOG_FORMAT": "text"}
    connections, rounds = 8, 4
    kept: list[bool] = []

    def flood(index: int) -> list[int]:
        """One kept connection sending `rounds` requests back to back."""
        statuses = []
        with session_from(FLOOD_ADDRESS) as session:
            for turn in range(rounds):
                answer = session.post(
                    server.url + "/api/predict",
                    files={"image": ("a.jpg", PHOTO)},
                    headers={"X-Request-Id": f"flood{index}-{turn}"},
                    timeout=60,
                )
                statuses.append(answer.status_code)
                kept.append(answer.headers.get("Connection") == "keep-alive")
        return statuses

    def other() -> int:
        with session_from(OTHER_ADDRESS) as session:
            answer = session.post(
                server.url + "/api/predict", files={"image": ("a.jpg", PHOTO)}, headers={"X-Request-Id": "other"}
            )
        return answer.status_code

    with gunicorn_server(env=env, workers=1) as server, ThreadPoolExecutor(connections + 1) as pool:
        port, (worker,) = urlsplit(server.url).port, worker_pids(server.process.pid)
        floods = [pool.submit(flood, i) for i in range(connections)]
        # Every flood connection is held by the worker (its first answers come back on them).
        wait_for(lambda: established_connections(worker, port) >= connections, "the flood did not connect")
        wait_for(lambda: "flood0-1" in answered_at(server.log()), "the flood's second round did not start")
        mine = pool.submit(other)
        other_arrived = wait_for(lambda: accepted_from(worker, port, OTHER_ADDRESS) or mine.done(), "never taken")
        statuses = [status for future in floods for status in future.result()] + [mine.result()]
        answered = answered_at(server.log())
    assert statuses == [200] * (connections * rounds + 1)
    assert all(kept), "the worker closed a flood connection: the flood did not come back on kept connections"
    order = sorted(answered, key=answered.get)
    meanwhile = [
        name for name in order if name.startswith("flood") and other_arrived < answered[name] < answered["other"]
    ]
    assert len(meanwhile) <= 2, (meanwhile, order)
    after = [name for name in order if name.startswith("flood") and answered[name] > answered["other"]]
    assert len(after) >= connections, order  # the flood was still there
    assert all(f"flood{i}-{rounds - 1}" in answered for i in range(connections))
