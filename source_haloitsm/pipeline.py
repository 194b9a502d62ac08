"""Reading windows in parallel while emitting them in order.

A planner thread sizes windows (each candidate's first pages come with it); a pool of
`parallel_requests` workers pages through the windows; the stream emits the windows strictly in time
order, so a checkpoint after a window never passes a window that was not fully emitted. Memory stays
bounded: at most `workers` planned windows wait ahead, and each window buffers at most a few pages.

Paging one window (`read_window`) follows Halo's behaviour (HALO_API_FACTS.md 2.1): `page_no` is
1-based; pages are capped at 100 whatever `page_size` says, so a short page is not the end; reading
stops once `record_count` records were seen, on an empty page, or when a page repeats the previous one
(S3 saw Halo send the same page again past the end). Offset paging skips a ticket when another ticket
leaves the window while it is paged (it was updated or deleted): `record_count` drops between pages.
Then the window is read again from page 1, skipping ids already emitted, until a pass sees no change.
"""
from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence

from source_haloitsm.errors import TransientHaloError
from source_haloitsm.windows import Page, Window, WindowPlanner, last_update_of

# How many times a window is re-read when tickets keep leaving it during paging.
MAX_PASSES = 6
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
    dropped_outside: int = 0
    repeated_pages: int = 0


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
        page: Optional[Page] = first_page
        passes = 0
        while True:
            passes += 1
            stats.passes += 1
            shifted = False
            seen = 0
            previous_ids: Optional[List[Any]] = None
            last_count = page.record_count
            while True:
                stats.pages += 1
                if previous_ids is not None and page.tickets and page.ids == previous_ids:
                    stats.repeated_pages += 1
                    break  # Halo repeats the last page past the end
                if page.record_count < last_count:
                    shifted = True
                last_count = page.record_count
                fresh = []
                for ticket in page.tickets:
                    if ticket.get("id") in emitted_ids:
                        continue
                    if not window.holds(last_update_of(ticket)):
                        stats.dropped_outside += 1
                        continue
                    emitted_ids.add(ticket.get("id"))
                    fresh.append(ticket)
                if fresh:
                    stats.records += len(fresh)
                    emit(fresh)
                seen += len(page.tickets)
                if not page.tickets or seen >= page.record_count:
                    break
                previous_ids = page.ids
                page = fetch(window, part, page.page_no + 1, page.page_size)
            if not shifted:
                break
            if passes >= MAX_PASSES:
                raise TransientHaloError(
                    f"Stream '{stream_name}': tickets in window {window} kept changing while it was read "
                    f"({MAX_PASSES} passes). The sync stopped before this window; the next sync resumes from it."
                )
            logger.info(
                f"Stream '{stream_name}': record_count dropped while paging window {window} "
                f"({part}): tickets were updated or deleted meanwhile; reading the window again."
            )
            page = fetch(window, part, 1, first_page.page_size)
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
        self._pending: Dict[int, WindowJob] = {}
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"halo-{stream_name}")
        self._planner_thread = threading.Thread(target=self._plan, name=f"halo-{stream_name}-planner", daemon=True)
        self.estimate_ready = threading.Event()

    def start(self) -> None:
        self._planner_thread.start()

    def cancel(self) -> None:
        self.cancelled.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _plan(self) -> None:
        try:
            for index, (window, pages) in enumerate(self.planner.plan()):
                self.estimate_ready.set()
                job = WindowJob(index, window, pages, queue.Queue(maxsize=PAGES_BUFFERED_PER_WINDOW))
                self._executor.submit(self._run, job)
                _put(self._jobs, job, self.cancelled)
            _put(self._jobs, _DONE, self.cancelled)
        except Cancelled:
            pass
        except BaseException as exc:  # handed to the consumer, who raises it
            try:
                _put(self._jobs, exc, self.cancelled)
            except Cancelled:
                pass
        finally:
            self.estimate_ready.set()

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

    def jobs(self) -> Iterator[WindowJob]:
        """Planned windows in time order."""
        while True:
            item = self._jobs.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                self.cancel()
                raise item
            self._pending[item.index] = item
            yield item

    def job(self, index: int) -> WindowJob:
        return self._pending.pop(index)

    def records(self, job: WindowJob) -> Iterator[Mapping[str, Any]]:
        """The records of one window, in page order, as its worker reads them."""
        while True:
            item = job.records.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                self.cancel()
                raise item
            yield from item
