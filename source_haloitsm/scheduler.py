"""The workers of a read: `parallel_requests` threads shared by every stream, taking requests in
priority order. So `parallel_requests` bounds the requests in flight across the whole connector, and
the rate budget (rate_limit.py) bounds how many start per minute.

Priorities are tuples, smallest first. Streams use `(stream rank, class, window, part, page)`:
the stream being emitted comes first; within a stream, re-reads the emitting thread waits for come
before planning probes, which come before pages of later windows (so windows are planned ahead of
the workers); pages go in the order they will be emitted.

Workers are daemon threads: a failed or finished read never waits at exit for a worker sleeping
out a back-off.
"""
from __future__ import annotations

import itertools
import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable, Tuple

# Priority classes within a stream.
URGENT = 0  # the emitting thread waits for it
PLANNING = 1
PAGE = 2


class Scheduler:
    def __init__(self, workers: int, name: str = "halo"):
        self.workers = max(1, int(workers))
        self._queue: "queue.PriorityQueue[Tuple[Any, int, Any]]" = queue.PriorityQueue()
        self._order = itertools.count()
        self._threads = []
        self._name = name
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, priority: Tuple, fn: Callable[..., Any], *args: Any) -> "Future[Any]":
        future: "Future[Any]" = Future()
        with self._lock:
            if self._closed:
                future.cancel()
                return future
            if not self._threads:
                self._start()
            self._queue.put((priority, next(self._order), (future, fn, args)))
        return future

    def _start(self) -> None:
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"{self._name}-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while True:
            _, _, item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to whoever waits for the result
                future.set_exception(exc)

    def close(self) -> None:
        """Stops the workers after the requests they are sending; queued requests are cancelled."""
        with self._lock:
            self._closed = True
            pending = []
            while True:
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for _, _, item in pending:
                if item is not None:
                    item[0].cancel()
            for _ in self._threads:
                self._queue.put(((float("inf"),), next(self._order), None))
