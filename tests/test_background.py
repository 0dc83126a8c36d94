"""BackgroundQueue: a request hands work over without waiting, and one failure stops nothing."""

from __future__ import annotations

import logging
import threading

from registry.background import BackgroundQueue


def test_submit__a_full_queue_leaves_the_item_out_and_says_so():
    started, release = threading.Event(), threading.Event()
    done = []

    def slow(n):
        started.set()
        release.wait(5)
        done.append(n)

    work = BackgroundQueue("test-full", slow, max_pending=1)
    assert work.submit(1)
    assert started.wait(5)  # item 1 is being worked on: the queue holds one more
    assert work.submit(2)
    assert not work.submit(3)
    release.set()
    work.wait_idle()
    assert done == [1, 2]


def test_a_failing_item__is_logged_and_the_next_ones_are_done(caplog):
    done = []

    def work(n):
        if n == 2:
            raise ValueError("broken")
        done.append(n)

    queue = BackgroundQueue("test-failing", work)
    with caplog.at_level(logging.WARNING, logger="registry.background"):
        for n in (1, 2, 3):
            assert queue.submit(n)
        queue.wait_idle()

    assert done == [1, 3]
    assert "test-failing: work on 2 not done ahead" in caplog.text
