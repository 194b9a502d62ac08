"""Reading every row of one query (one part of one window) from Halo's offset pages.

Halo's paging (docs/halo-api.md, 2.1): `page_no` is 1-based; pages are capped at 100 whatever
`page_size` says, so a short page is not the end; `record_count` is the total of the query; a page
past the end may repeat the last page instead of coming back empty.

A part is read in two ways:

1. **In parallel** (`read_part`). The first page tells `record_count`, so every other page is known
   and all are fetched at once by the workers. If every page reports the same `record_count`, no row
   left the query while it was paged, so no row moved between pages: the pages are complete.
2. **Sequentially, stepping back** (`read_sequentially`), when the counts differ. Offset paging skips a
   row when another row leaves the query while it is paged (a ticket updated or deleted meanwhile):
   `record_count` drops by `d` between two pages, so a row that was just past the previous page may
   now sit up to `d` places earlier. The reader steps back over the pages those `d` places span and
   reads on from there, skipping ids already emitted. Each step back costs a few pages, so a part
   converges however busy the instance is (a restart from page 1 would never finish while tickets
   change faster than the part can be paged).

Halo's gateway may give up on a large page (502/504): `fetch_rows` asks for the same rows again in
smaller pages whose size divides the offset, so `page_no` still addresses them.
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
import operator
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set

from source_haloitsm.client import PageTooLarge
from source_haloitsm.endpoints import Endpoint
from source_haloitsm.errors import TransientHaloError
from source_haloitsm.waits import announce_wait, transient_wait

# How many times one part may step back after rows left it during paging. Every step back needs a
# drop of record_count, so this only bounds a Halo whose counts go up and down.
MAX_STEP_BACKS = 1000


@dataclasses.dataclass
class Page:
    """The rows at positions [offset, offset + len(rows)) of a query, and the record_count(s) Halo
    gave while they were read (several when a 502 split the page)."""

    rows: List[Dict[str, Any]]
    record_count: int
    page_no: int
    page_size: int  # the page size asked for
    counts: Sequence[int] = ()
    key: Callable[[Mapping[str, Any]], Any] = operator.itemgetter("id")  # a row's primary key

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = (self.record_count,)

    @property
    def offset(self) -> int:
        return (self.page_no - 1) * self.page_size

    @property
    def ids(self) -> List[Any]:
        key = self.key
        return [_safe_key(key, row) for row in self.rows]


# fetch(page_no, page_size) -> Page; raises PageTooLarge on 502/504
Fetch = Callable[[int, int], Page]


def next_smaller_page_size(position: int, size: int) -> int:
    """The largest page size <= size/2 that divides `position`, so `page_no` still addresses it."""
    for candidate in range(max(1, size // 2), 0, -1):
        if position % candidate == 0:
            return candidate
    return 1


def fetch_rows(fetch: Fetch, page_no: int, page_size: int, what: str, shrinks: int = 0) -> Page:
    """One page; when Halo's gateway gives up on it, the same rows in smaller pages."""
    try:
        return fetch(page_no, page_size)
    except PageTooLarge as too_large:
        offset = (page_no - 1) * page_size
        smaller = next_smaller_page_size(offset, page_size)
        wait = transient_wait(shrinks + 1)
        announce_wait(f"before asking again for {what}", wait, f"{too_large}; asking for page_size {smaller}.")
        logging.getLogger("airbyte").warning(
            f"{too_large} for {what}, page {page_no} of {page_size}; asking for the same rows in pages of {smaller}."
        )
        time.sleep(wait)
        rows: List[Dict[str, Any]] = []
        counts: List[int] = []
        key = Page.key
        for sub_offset in range(offset, offset + page_size, smaller):
            part = fetch_rows(fetch, sub_offset // smaller + 1, smaller, what, shrinks + 1)
            rows.extend(part.rows)
            counts.extend(part.counts)
            key = part.key
            if len(part.rows) < smaller:
                break  # the end of the query
        return Page(rows, counts[0] if counts else 0, page_no, page_size, tuple(counts), key)


class PartStats:
    def __init__(self) -> None:
        self.pages = 0
        self.step_backs = 0
        self.sequential = False


def _safe_key(key_of: Callable[[Mapping[str, Any]], Any], row: Mapping[str, Any]) -> Any:
    try:
        return key_of(row)
    except (KeyError, TypeError):
        return id(row)  # a row without its key is never taken for another one


def _fresh(page: Page, seen: Set[Any], holds: Optional[Callable[[Mapping[str, Any]], bool]]) -> List[Dict[str, Any]]:
    fresh = []
    key_of = page.key
    for row in page.rows:
        key = _safe_key(key_of, row)
        if key in seen:
            continue
        if holds is not None and not holds(row):
            continue
        seen.add(key)
        fresh.append(row)
    return fresh


def pages_after(first: Page) -> List[int]:
    """Page numbers 2..n that hold the rest of `first.record_count` rows, at the size Halo really used
    for the first page (it caps page_size without a word)."""
    size = effective_page_size(first)
    total = first.record_count
    if total <= len(first.rows) or not first.rows:
        return []
    return list(range(2, -(-total // size) + 1))


def list_page(get: Callable[[str, Mapping[str, Any]], Any], endpoint: Endpoint, params: Mapping[str, Any], page_no: int,
              size: int) -> Page:
    """One page of a list query through `get(path, params)` (the client's); a body without the list
    raises MissingList (endpoints.py)."""
    body = get(endpoint.path, {**endpoint.page_params(page_no, size), **params})
    rows = list(endpoint.rows(body))
    count = endpoint.record_count(body)
    return Page(rows, len(rows) if count is None else count, page_no, size)


def every_list_page(run: Callable[..., Any], get: Callable[[str, Mapping[str, Any]], Any], endpoint: Endpoint,
                    params: Mapping[str, Any], what: str, page_size: int = 100) -> Iterator[Page]:
    """Every page of a whole list query (the deleted tickets, the tickets actions.py reads whole): the
    first page, whose record_count tells how many follow, then the others asked for at once, in order;
    a page Halo's gateway gives up on (502/504) comes in smaller pages. `run(fn, *args)` runs a request
    on the read's workers (reader.call_later)."""
    def fetch(page_no: int, size: int) -> Page:
        return fetch_rows(lambda no, sz: list_page(get, endpoint, params, no, sz), page_no, size, what)

    first = run(fetch, 1, page_size).result()
    size = effective_page_size(first)
    later = [run(fetch, n, size) for n in pages_after(first)]
    yield first
    for pending in later:
        yield pending.result()


def effective_page_size(first: Page) -> int:
    """What Halo really put on a page: fewer rows than asked for while more remain means a cap."""
    if first.rows and len(first.rows) < min(first.page_size, first.record_count):
        return len(first.rows)
    return first.page_size


def read_part(
    first: Page,
    later: Iterable[Callable[[], Page]],
    fetch: Fetch,
    seen: Set[Any],
    holds: Optional[Callable[[Mapping[str, Any]], bool]],
    stats: PartStats,
    what: str,
    logger: logging.Logger,
) -> Iterator[List[Dict[str, Any]]]:
    """Rows of one part, a list per page: `first` and the pages `later` (each a callable returning the page, e.g. a
    future's result) read in parallel; then, if any page saw a different record_count, the part again
    sequentially with step-backs. `seen` holds the ids already emitted (shared by a window's parts)."""
    counts = set(first.counts)
    previous: Optional[List[Any]] = None
    ended = False
    for get in itertools.chain([lambda: first], later):  # lazily: later pages may not be asked for yet
        page = get()
        if ended:
            continue  # pages past the end: still collected so no request is left running unseen
        stats.pages += 1
        counts.update(page.counts)
        if previous is not None and page.rows and page.ids == previous:
            ended = True  # Halo repeats the last page past the end
            continue
        yield _fresh(page, seen, holds)
        previous = page.ids
    if len(counts) > 1:
        logger.info(
            f"{what}: record_count changed while it was read in parallel ({min(counts)}..{max(counts)}): rows were "
            "updated or deleted meanwhile; reading it again page by page."
        )
        stats.sequential = True
        yield from read_sequentially(fetch, effective_page_size(first), seen, holds, stats, what, logger)


def read_sequentially(
    fetch: Fetch,
    page_size: int,
    seen: Set[Any],
    holds: Optional[Callable[[Mapping[str, Any]], bool]],
    stats: PartStats,
    what: str,
    logger: logging.Logger,
    first: Optional[Page] = None,
) -> Iterator[List[Dict[str, Any]]]:
    """Every row of the query, a list per page, page after page from page 1, stepping back after
    record_count drops."""
    page = first or fetch_rows(fetch, 1, page_size, what)
    size = effective_page_size(page)
    previous: Optional[List[Any]] = None
    last_count = page.record_count
    while True:
        stats.pages += 1
        if previous is not None and page.rows and page.ids == previous:
            return  # Halo repeats the last page past the end
        dropped = last_count - min(page.counts)
        last_count = page.counts[-1]
        yield _fresh(page, seen, holds)
        offset = (page.page_no - 1) * size
        if dropped > 0 and offset > 0:
            # Rows left the query since the previous page: what followed it moved up to `dropped`
            # places, possibly onto pages already read. Step back over them.
            stats.step_backs += 1
            if stats.step_backs > MAX_STEP_BACKS:
                raise TransientHaloError(
                    f"{what}: rows kept changing while it was read ({MAX_STEP_BACKS} re-reads). The sync stopped "
                    "before it; the next sync resumes from it."
                )
            page_no = max(0, offset - dropped) // size + 1
            logger.info(
                f"{what}: record_count dropped by {dropped} while paging: rows were updated or deleted meanwhile; "
                f"reading again from page {page_no}."
            )
            previous = None
            page = fetch_rows(fetch, page_no, size, what)
            continue
        if not page.rows or offset + len(page.rows) >= page.counts[-1]:
            return
        previous = page.ids
        page = fetch_rows(fetch, page.page_no + 1, size, what)
