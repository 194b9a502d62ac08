"""Reading windows in parallel while emitting them in order.

A planner thread sizes windows (each candidate's first pages come with it); a pool of
`parallel_requests` workers pages through the windows; the stream emits the windows strictly in time
order, so a checkpoint after a window never passes a window that was not fully emitted. Memory stays
bounded: at most `workers` planned windows wait ahead, and each window buffers at most a few pages.

Paging one window (`read_window`) follows Halo's behaviour (HALO_API_FACTS.md 2.1): `page_no` is
1-based; pages are capped at 100 whatever `page_size` says, so a short page is not the end; reading
stops once `record_count` records were seen, on an empty page, or when a page repeats the previous one
(S3 saw Halo send the same page again past the end). Offset paging skips a ticket when another ticket
leaves the window while it is paged (it was updated or deleted): `record_count` drops by `d` between
two pages, so a ticket that was just past the previous page may now sit up to `d` places earlier.
Then the reader steps back over the pages those `d` places span and reads on from there, skipping
ids already emitted. Each step back costs a few pages, so a window keeps converging however busy
the instance is (a restart from page 1 would never finish while tickets change faster than a
window can be paged).
"""
from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from typing import Any, Callable, Iterator, List, Mapping, Optional, Sequence

from source_haloitsm.errors import TransientHaloError
from source_haloitsm.windows import Page, Window, WindowPlanner, last_update_of

# How many times one part of a window may step back after tickets left it during paging. Every step
# back needs a drop of record_count, so this only bounds a Halo whose counts go up and down.
MAX_PASSES = 1000
# Pages a worker may hold for a window that is not being emitted yet.
PAGES_BUFFERED_PER_WINDOW = 4

_DONE = object()

# fetch(window, part, page_no, page_size) -> Page
Fetch = Callable[[Window, Mapping[str, str], int, int], Page]


@dataclasses.dataclass
class WindowStats:
    pages: int = 0
    records: int = 0
    passes: int = 0


class Cancelled(Exception):
    pass


def _put(q: "queue.Queue[Any]", item: Any, cancelled: threading.Event) -> None:
    while True:
        if cancelled.is_set():
            raise Cancelled()
        try:
            q.put(item, timeout=0.2)
            return
        except queue.Full:
            continue


def next_smaller_page_size(position: int, size: int) -> int:
    """The largest page size <= size/2 that divides `position`, so `page_no` still addresses it."""
    for candidate in range(max(1, size // 2), 0, -1):
        if position % candidate == 0:
            return candidate
    return 1


def read_window(
    window: Window,
    first_pages: Sequence[Page],
    parts: Sequence[Mapping[str, str]],
    fetch: Fetch,
    emit: Callable[[List[Mapping[str, Any]]], None],
    logger: logging.Logger,
    stream_name: str,
) -> WindowStats:
    stats = WindowStats()
    for part, first_page in zip(parts, first_pages):
        emitted_ids: set = set()
        page: Page = first_page
        stats.passes += 1
        step_backs = 0
        seen = 0  # records before the current page, in the order of the latest answers
        previous_ids: Optional[List[Any]] = None
        last_count = page.record_count
        while True:
            stats.pages += 1
            if previous_ids is not None and page.tickets and page.ids == previous_ids:
                break  # Halo repeats the last page past the end
            dropped = last_count - page.record_count
            last_count = page.record_count
            fresh = []
            for ticket in page.tickets:
                if ticket.get("id") in emitted_ids:
                    continue
                if not window.holds(last_update_of(ticket)):
                    continue
                emitted_ids.add(ticket.get("id"))
                fresh.append(ticket)
            if fresh:
                stats.records += len(fresh)
                emit(fresh)
            position = (page.page_no - 1) * page.page_size
            if dropped > 0 and position > 0:
                # Tickets left the window since the previous page: what followed the previous page moved
                # up to `dropped` places, possibly onto pages already read. Step back over them.
                step_backs += 1
                stats.passes += 1
                if step_backs > MAX_PASSES:
                    raise TransientHaloError(
                        f"Stream '{stream_name}': tickets in window {window} kept changing while it was read "
                        f"({MAX_PASSES} re-reads). The sync stopped before this window; the next sync resumes from it."
                    )
                back_to = max(0, position - dropped)
                page_no = back_to // page.page_size + 1
                logger.info(
                    f"Stream '{stream_name}': record_count dropped by {dropped} while paging window {window} "
                    f"({part}): tickets were updated or deleted meanwhile; reading the window again from page {page_no}."
                )
                seen = (page_no - 1) * page.page_size
                previous_ids = None
                page = fetch(window, part, page_no, page.page_size)
                continue
            seen += len(page.tickets)
            if not page.tickets or seen >= page.record_count:
                break
            previous_ids = page.ids
            page = fetch(window, part, page.page_no + 1, page.page_size)
    return stats


@dataclasses.dataclass
class WindowJob:
    index: int
    window: Window
    first_pages: List[Page]
    records: "queue.Queue[Any]"
    stats: Optional[WindowStats] = None


class WindowPipeline:
    def __init__(
        self,
        planner: WindowPlanner,
        fetch: Fetch,
        transform: Callable[[Mapping[str, Any]], Mapping[str, Any]],
        workers: int,
        logger: logging.Logger,
        stream_name: str,
    ):
        self.planner = planner
        self.fetch = fetch
        self.transform = transform
        self.workers = max(1, workers)
        self.logger = logger
        self.stream_name = stream_name
        self.cancelled = threading.Event()
        self._jobs: "queue.Queue[Any]" = queue.Queue(maxsize=self.workers)
        # Windows wait here, in time order, for a worker. Daemon threads: a failed or finished read
        # never waits at exit for a worker that is sleeping out a back-off.
        self._work: "queue.Queue[Any]" = queue.Queue()
        self._threads = [threading.Thread(target=self._plan, name=f"halo-{stream_name}-planner", daemon=True)] + [
            threading.Thread(target=self._work_loop, name=f"halo-{stream_name}-{n}", daemon=True) for n in range(self.workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def cancel(self) -> None:
        self.cancelled.set()
        for _ in range(self.workers):
            self._work.put(_DONE)

    def _work_loop(self) -> None:
        while not self.cancelled.is_set():
            job = self._work.get()
            if job is _DONE:
                return
            self._run(job)

    def _plan(self) -> None:
        try:
            for index, (window, pages) in enumerate(self.planner.plan()):
                job = WindowJob(index, window, pages, queue.Queue(maxsize=PAGES_BUFFERED_PER_WINDOW))
                self._work.put(job)
                _put(self._jobs, job, self.cancelled)
            _put(self._jobs, _DONE, self.cancelled)
        except Cancelled:
            pass
        except BaseException as exc:  # handed to the consumer, who raises it
            try:
                _put(self._jobs, exc, self.cancelled)
            except Cancelled:
                pass

    def _run(self, job: WindowJob) -> None:
        try:
            job.stats = read_window(
                job.window,
                job.first_pages,
                self.planner.parts,
                self.fetch,
                lambda tickets: _put(job.records, [self.transform(t) for t in tickets], self.cancelled),
                self.logger,
                self.stream_name,
            )
            _put(job.records, _DONE, self.cancelled)
        except Cancelled:
            pass
        except BaseException as exc:
            try:
                _put(job.records, exc, self.cancelled)
            except Cancelled:
                pass

    def _drain(self, q: "queue.Queue[Any]") -> Iterator[Any]:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                self.cancel()
                raise item
            yield item

    def jobs(self) -> Iterator[WindowJob]:
        """Planned windows in time order."""
        yield from self._drain(self._jobs)

    def records(self, job: WindowJob) -> Iterator[Mapping[str, Any]]:
        """The records of one window, in page order, as its worker reads them."""
        for batch in self._drain(job.records):
            yield from batch
