"""The table of requests in progress that a gunicorn's workers share (serving/worker_loads.py)."""

from __future__ import annotations

import multiprocessing
import os
import struct
import subprocess
import sys

import pytest

from serving.worker_loads import SLOTS, WorkerLoads


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def take_slot_in_child(loads: WorkerLoads, ready, done) -> None:
    slot = loads.claim(5)
    loads.update(slot, 1)
    ready.set()
    done.wait(10)


def test_a_forked_worker_writes_the_table_its_siblings_read():
    loads = WorkerLoads()  # mapped before the fork, as the master does
    mine = loads.claim(5)
    loads.update(mine, 3)
    context = multiprocessing.get_context("fork")
    ready, done = context.Event(), context.Event()
    child = context.Process(target=take_slot_in_child, args=(loads, ready, done))
    child.start()
    try:
        assert ready.wait(10)
        assert not loads.least_busy(mine)  # the child has 1 in progress, this one 3
        loads.update(mine, 1)
        assert loads.least_busy(mine)  # a tie is not "less busy"
    finally:
        done.set()
        child.join(10)


def test_a_slot_held_by_a_live_process_is_skipped_and_one_of_a_dead_process_reused():
    loads = WorkerLoads()
    other = loads.claim(0)
    assert other == 0
    table = loads._memory
    struct.pack_into("ii", table, 8, os.getppid(), 0)  # slot 1: a live process (not this one)
    assert loads.claim(1) == 2
    struct.pack_into("ii", table, 3 * 8, dead_pid(), 0)  # slot 3: a worker killed without releasing its slot
    assert loads.claim(3) == 3


def test_a_dead_workers_stale_zero_does_not_make_the_others_wait():
    loads = WorkerLoads()
    mine = loads.claim(0)
    loads.update(mine, 4)
    struct.pack_into("ii", loads._memory, 8, dead_pid(), 0)
    assert loads.least_busy(mine)
    loads.release(mine)
    assert loads.claim(SLOTS - 1) == SLOTS - 1


def test_another_idle_worker_is_a_live_one_with_nothing_in_progress():
    loads = WorkerLoads()
    mine = loads.claim(0)
    loads.update(mine, 0)
    assert not loads.another_idle(mine)  # this worker's own idle slot does not count
    struct.pack_into("ii", loads._memory, 8, dead_pid(), 0)
    assert not loads.another_idle(mine)  # nor a dead worker's stale zero
    struct.pack_into("ii", loads._memory, 16, os.getppid(), 2)
    assert not loads.another_idle(mine)  # a live one that is busy
    struct.pack_into("ii", loads._memory, 16, os.getppid(), 0)
    assert loads.another_idle(mine)


def test_a_connection_is_kept_unless_another_worker_idles_while_this_one_has_more_to_answer():
    """keep_connection: the client's next request should reach an idle worker rather than queue here."""
    from serving.worker import keep_connection

    def never_asked() -> bool:
        raise AssertionError("the loads are read only when this worker has other requests")

    assert keep_connection(1, never_asked)  # only this answer here: this worker is about to be idle itself
    assert keep_connection(3, lambda: False)  # every worker busy (saturation): a new connection would gain nothing
    assert not keep_connection(3, lambda: True)
    assert not keep_connection(2, lambda: True)
    assert not keep_connection(1, never_asked, stopping=True)  # a stopping worker closes every connection


def test_a_busy_worker_takes_a_waiting_connection_at_once_then_one_per_interval():
    """pause_before_taking: the least busy worker takes at once; the next take waits out the interval (a burst is
    shared out between the workers); a worker that is not the one to take waits a whole interval and looks again."""
    from serving.worker import pause_before_taking

    assert pause_before_taking(True, since_last_take=float("inf"), interval=0.002) == 0.0
    assert pause_before_taking(True, since_last_take=0.0005, interval=0.002) == pytest.approx(0.0015)
    assert pause_before_taking(True, since_last_take=0.01, interval=0.002) == 0.0
    assert pause_before_taking(False, since_last_take=float("inf"), interval=0.002) == 0.002


def test_a_model_thread_gets_a_cpu_of_its_own_when_the_workers_fill_the_cpus():
    """model_thread_cpu (PIN_MODEL_THREADS): by slot, so a worker that replaces another takes its CPU; `auto` pins only
    when workers x ONNX Runtime threads is every CPU the server may use."""
    from serving.worker import model_thread_cpu

    cpus = [2, 3]  # a cpuset: not always from 0
    assert [model_thread_cpu("auto", slot, 2, 1, cpus) for slot in range(4)] == [2, 3, 2, 3]
    assert model_thread_cpu("auto", 0, 1, 2, cpus) == 2  # one worker, two threads: still all the CPUs
    assert model_thread_cpu("auto", 0, 1, 1, cpus) is None  # a CPU left over: maybe someone else's
    assert model_thread_cpu("auto", 0, 2, 1, [0, 1, 2, 3, 4, 5, 6, 7]) is None  # a dyno that sees its host
    assert model_thread_cpu("on", 1, 2, 1, [0, 1, 2, 3, 4, 5, 6, 7]) == 1
    assert model_thread_cpu("off", 0, 2, 1, cpus) is None
    assert model_thread_cpu("on", 0, 2, 1, []) is None  # no affinity on this system


def test_a_cpu_the_system_refuses_leaves_the_worker_running_unpinned(monkeypatch):
    """A sandbox may refuse sched_setaffinity: the worker logs it and serves as before (no boot loop)."""
    import gevent

    from serving import worker as worker_module
    from serving.model_thread import ModelThread

    def refuse(*_args) -> None:
        raise PermissionError(1, "Operation not permitted")

    warnings: list[str] = []

    class Stub:
        """The part of BufferedWorker that pin_model_thread reads."""

        model_thread = ModelThread()
        log = type("Log", (), {"warning": lambda _self, text, *args: warnings.append(text % args)})()

    monkeypatch.setattr(worker_module.os, "sched_setaffinity", refuse)
    gevent.spawn(worker_module.BufferedWorker.pin_model_thread, Stub(), 0).join(timeout=5)
    assert warnings and "CPU 0" in warnings[0]
