"""The worker's model thread: one job at a time, waiting jobs taken client by client (serving/model_thread.py)."""

from __future__ import annotations

import time

import gevent

from serving.model_thread import ModelThread


def job(order: list[str], name: str, seconds: float = 0.01) -> str:
    time.sleep(seconds)  # in the real thread: the event loop goes on meanwhile
    order.append(name)
    return name


def test_a_client_with_many_jobs_waiting_delays_another_client_by_one_job():
    thread, order = ModelThread(), []
    greedy = [gevent.spawn(thread.run, "greedy", job, order, f"greedy{i}") for i in range(6)]
    gevent.sleep(0)  # greedy0 runs, five wait
    assert thread.jobs() == 6
    normal = gevent.spawn(thread.run, "normal", job, order, "normal")
    gevent.sleep(0)
    assert thread.jobs() == 7
    gevent.joinall([*greedy, normal], raise_error=True)
    assert order == ["greedy0", "normal", "greedy1", "greedy2", "greedy3", "greedy4", "greedy5"]
    assert normal.value == "normal" and thread.jobs() == 0


def test_waiting_clients_take_turns_round_robin():
    thread, order = ModelThread(), []
    jobs = [gevent.spawn(thread.run, client, job, order, f"{client}{i}") for client in "ab" for i in range(3)]
    gevent.joinall(jobs, raise_error=True)
    assert order == ["a0", "b0", "a1", "b1", "a2", "b2"]


def test_an_exception_comes_back_to_its_caller_and_the_next_job_runs():
    thread, order = ModelThread(), []

    def fails() -> None:
        raise ValueError("bad image")

    failing = gevent.spawn(thread.run, "a", fails)
    after = gevent.spawn(thread.run, "b", job, order, "b")
    gevent.joinall([failing, after])
    assert isinstance(failing.exception, ValueError) and after.value == "b"


def test_a_job_whose_connection_is_let_go_while_waiting_gives_up_its_place():
    thread, order = ModelThread(), []
    first = gevent.spawn(thread.run, "a", job, order, "a0", 0.05)
    gevent.sleep(0)
    dropped = gevent.spawn(thread.run, "b", job, order, "b0")
    last = gevent.spawn(thread.run, "c", job, order, "c0")
    gevent.sleep(0.01)
    dropped.kill()
    gevent.joinall([first, last], raise_error=True)
    assert order == ["a0", "c0"] and thread.jobs() == 0


def test_a_job_let_go_while_it_runs_hands_the_turn_on_and_the_next_job_runs_after_it():
    thread, order = ModelThread(), []
    dropped = gevent.spawn(thread.run, "a", job, order, "a0", 0.05)
    gevent.sleep(0.01)  # a0 runs in the thread: letting its caller go cannot stop it
    last = gevent.spawn(thread.run, "b", job, order, "b0")
    dropped.kill()
    gevent.joinall([last], raise_error=True)
    assert order == ["a0", "b0"] and thread.jobs() == 0


class Fatal(BaseException):
    """Not an Exception: it would end a thread that caught only those."""


def test_a_job_that_raises_even_a_base_exception_leaves_the_thread_running_the_next_jobs():
    thread, order = ModelThread(), []

    def fails_hard() -> None:
        raise Fatal("not an Exception")

    failing = gevent.spawn(thread.run, "a", fails_hard)
    after = gevent.spawn(thread.run, "b", job, order, "b")
    gevent.joinall([failing, after], timeout=5)  # a dead thread would leave the next job waiting for ever
    assert isinstance(failing.exception, Fatal) and after.value == "b"


def test_many_jobs_from_many_greenlets_each_get_their_own_result():
    """Outcomes come back through one wake-up of the event loop that may carry several: none is lost or swapped."""
    thread = ModelThread()
    callers = [gevent.spawn(thread.run, f"client{i % 5}", lambda n=i: n * n) for i in range(200)]
    gevent.joinall(callers, raise_error=True)
    assert [c.value for c in callers] == [i * i for i in range(200)] and thread.jobs() == 0
