"""Reading one stream ahead of its emission: plan, prefetch, emit in order.

    planner thread (one per stream)        workers (scheduler.py, shared)       emitting thread (the CDK's)
    probe candidate windows        ---->   first page of each part      
    accept a window, queue it      ---->   pages 2..n of each part      ---->   window by window, part by
    (at most LOOKAHEAD_WINDOWS ahead,      (all at once, in emission             part, page by page: rows
     at most `max_pages_ahead` pages        order)                               out, then the state
     fetched and not yet emitted)

- Windows are planned ahead of the workers: planning probes go before pages of later windows, so
  workers never wait for the planner while there is anything to read.
- Memory is bounded: a page holds a slot from the moment it is asked for until it is emitted.
- The emitting thread takes windows strictly in time order, so the state set after a window never
  passes a window that was not fully emitted. Within a window, `paging.read_part` decides whether the
  parallel pages are complete or the part must be read again page by page.
- Several streams read at once: each has its planner thread and its rank in the shared scheduler.
  A stream that is not being emitted yet uses the workers only when the emitting one has nothing
  queued, and stops after `max_pages_ahead` pages until its turn comes.
"""
from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Set

from source_haloitsm import scheduler as prio
from source_haloitsm.paging import Page, PartStats, effective_page_size, fetch_rows, pages_after, read_part
from source_haloitsm.scheduler import Scheduler
from source_haloitsm.windows import Probe, Window

LOOKAHEAD_WINDOWS = 4
PAGES_AHEAD_PER_WORKER = 4

_DONE = object()


class Cancelled(Exception):
    pass


@dataclasses.dataclass
class PartJob:
    part: Mapping[str, str]
    first: Page
    later: "queue.Queue[Any]" = dataclasses.field(default_factory=queue.Queue)  # futures, then _DONE


@dataclasses.dataclass
class WindowJob:
    index: int
    window: Optional[Window]
    parts: List[PartJob]
    state_after: Optional[Any] = None  # where the stream's state moves once the job is emitted
    after: Optional[Callable[[], None]] = None  # what else the stream records once it is emitted


@dataclasses.dataclass
class Planned:
    """What a stream's plan yields: the window (None: no window of a cursor), the first page of each
    part (the probe carries its parts), and where the state moves once the job's records are out."""

    window: Optional[Window]
    probe: Probe
    state_after: Optional[Any] = None
    after: Optional[Callable[[], None]] = None  # run once the job's records are out (e.g. deletions.py)


@dataclasses.dataclass
class StreamQuery:
    """What a reader needs from its stream: how to plan, and how to ask for one page."""

    name: str
    parts: Sequence[Mapping[str, str]]
    plan: Callable[["StreamReader"], Iterator[Planned]]  # asks the reader's probe / probe_later
    get_page: Callable[[Optional[Window], Mapping[str, str], int, int], Page]  # (window, part, page_no, size)
    page_size: int
    holds: Optional[Callable[[Optional[Window]], Optional[Callable[[Mapping[str, Any]], bool]]]] = None


class StreamReader:
    def __init__(self, query: StreamQuery, scheduler: Scheduler, rank: int, logger: logging.Logger):
        self.query = query
        self.scheduler = scheduler
        self.rank = rank
        self.logger = logger
        self.max_pages_ahead = PAGES_AHEAD_PER_WORKER * scheduler.workers
        self._slots = threading.Semaphore(self.max_pages_ahead)
        self._jobs: "queue.Queue[Any]" = queue.Queue(maxsize=LOOKAHEAD_WINDOWS)
        self._cancelled = threading.Event()
        self._futures: "Set[Future[Any]]" = set()  # not finished yet: cancelled when the read stops
        self._thread = threading.Thread(target=self._plan, name=f"halo-{query.name}-planner", daemon=True)
        self.started = time.monotonic()
        self.requests = 0
        self._probes = 0
        self._lock = threading.Lock()

    def start(self) -> "StreamReader":
        self._thread.start()
        return self

    # ---- planner thread ----
    def _submit(self, priority: tuple, fn: Callable[..., Any], *args: Any) -> "Future[Any]":
        if self._cancelled.is_set():
            raise Cancelled()
        future = self.scheduler.submit((self.rank,) + priority, fn, *args)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: "Future[Any]") -> None:
        with self._lock:
            self._futures.discard(future)

    def _get_page(self, window: Optional[Window], part: Mapping[str, str], page_no: int, size: int) -> Page:
        with self._lock:
            self.requests += 1
        return self.query.get_page(window, part, page_no, size)

    def _fetch(self, window: Optional[Window], part: Mapping[str, str], page_no: int, size: int) -> Page:
        what = f"stream '{self.query.name}'" + (f" window {window}" if window else "") + (f" ({_describe(part)})" if part else "")
        return fetch_rows(lambda no, sz: self._get_page(window, part, no, sz), page_no, size, what)

    def probe(self, window: Optional[Window], parts: Optional[Sequence[Mapping[str, str]]] = None) -> Probe:
        """The first page of every part of a candidate window, asked for at once."""
        return self.probe_later(window, parts).result()

    def probe_later(self, window: Optional[Window], parts: Optional[Sequence[Mapping[str, str]]] = None) -> "PendingProbe":
        """Asks for the first page of every part now; `.result()` waits for them. A plan that knows its
        windows in advance asks for several at once, so planning never waits a round trip per window."""
        parts = list(self.query.parts if parts is None else parts)
        with self._lock:
            self._probes += 1
            order = self._probes
        futures = [
            self._submit((prio.PLANNING, order, i, 1), self._fetch, window, part, 1, self.query.page_size)
            for i, part in enumerate(parts)
        ]
        return PendingProbe(self, parts, futures)

    def call_later(self, fn: Callable[..., Any], *args: Any) -> "Pending":
        """Runs `fn(*args)` (a request of the plan's own, e.g. a page of another list) on a worker, with
        planning priority; `.result()` waits for it."""
        with self._lock:
            self._probes += 1
            order = self._probes
        return Pending(self, [self._submit((prio.PLANNING, order, 0, 0), self._counted(fn), *args)])

    def _counted(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            with self._lock:
                self.requests += 1
            return fn(*args)

        return run

    def _wait(self, future: "Future[Any]") -> Any:
        while True:
            if self._cancelled.is_set():
                raise Cancelled()
            try:
                return future.result(timeout=0.2)
            except TimeoutError:
                continue

    def _put(self, item: Any) -> None:
        while True:
            if self._cancelled.is_set():
                raise Cancelled()
            try:
                self._jobs.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _take_slot(self) -> None:
        while not self._slots.acquire(timeout=0.2):
            if self._cancelled.is_set():
                raise Cancelled()

    def _plan(self) -> None:
        try:
            for index, planned in enumerate(self.query.plan(self)):
                window, probe = planned.window, planned.probe
                job = WindowJob(
                    index, window, [PartJob(part, page) for part, page in zip(probe.parts, probe.pages)], planned.state_after, planned.after
                )
                self._put(job)
                for part_index, part_job in enumerate(job.parts):
                    size = effective_page_size(part_job.first)
                    for page_no in pages_after(part_job.first):
                        self._take_slot()
                        part_job.later.put(
                            self._submit((prio.PAGE, index, part_index, page_no), self._fetch, window, part_job.part, page_no, size)
                        )
                    part_job.later.put(_DONE)
            self._put(_DONE)
        except Cancelled:
            pass
        except BaseException as exc:  # handed to the emitting thread, which raises it
            try:
                self._put(exc)
            except Cancelled:
                pass

    # ---- emitting thread ----
    def jobs(self) -> Iterator[WindowJob]:
        """Planned windows in time order."""
        while True:
            item = self._jobs.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                self.cancel()
                raise item
            yield item

    def records(self, job: WindowJob, stats: PartStats) -> Iterator[List[Dict[str, Any]]]:
        """The records of one window, a list per page: each part's pages as the workers bring them, in order."""
        seen: Set[Any] = set()
        holds = self.query.holds(job.window) if self.query.holds else None
        for part_index, part_job in enumerate(job.parts):
            what = f"Stream '{self.query.name}'" + (f" window {job.window}" if job.window else "") + (
                f" ({_describe(part_job.part)})" if part_job.part else ""
            )
            window, part = job.window, part_job.part

            def urgent_fetch(page_no: int, size: int) -> Page:
                return self._submit((prio.URGENT, job.index, part_index, page_no), self._get_page, window, part, page_no, size).result()

            yield from read_part(part_job.first, self._later(part_job), urgent_fetch, seen, holds, stats, what, self.logger)

    def _later(self, part_job: PartJob) -> Iterator[Callable[[], Page]]:
        while True:
            future = part_job.later.get()
            if future is _DONE:
                return

            def get(future: "Future[Any]" = future) -> Page:
                try:
                    return future.result()
                finally:
                    self._slots.release()

            yield get

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            pending = list(self._futures)
        for future in pending:
            future.cancel()


class Pending:
    """Requests on their way; `.result()` waits for them (and stops waiting when the read is cancelled)."""

    def __init__(self, reader: StreamReader, futures: "List[Future[Any]]"):
        self._reader, self._futures = reader, futures

    def result(self) -> Any:
        return self._reader._wait(self._futures[0])

    def cancel(self) -> None:
        for future in self._futures:
            future.cancel()


class PendingProbe(Pending):
    def __init__(self, reader: StreamReader, parts: List[Mapping[str, str]], futures: "List[Future[Any]]"):
        super().__init__(reader, futures)
        self._parts = parts

    def result(self) -> Probe:
        return Probe([self._reader._wait(f) for f in self._futures], self._parts)


def _describe(part: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in part.items())
