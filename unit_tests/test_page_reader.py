"""The page reader on its own (paging.py), against a fake fetch function over a list of rows that can
change between requests: Halo's silent page cap, a page repeated past the end, a short page that is
not the end, record_count drifting while pages are read in parallel, stepping back after a drop,
and 502 answered by asking for the same rows in smaller pages."""
import logging
from typing import Callable, List, Optional

import pytest

from source_haloitsm.client import PageTooLarge
from source_haloitsm.errors import TransientHaloError
from source_haloitsm.paging import (
    Page,
    PartStats,
    effective_page_size,
    fetch_rows,
    next_smaller_page_size,
    pages_after,
    read_part,
    read_sequentially,
)

LOG = logging.getLogger("test")


class FakeQuery:
    """Rows in id order, answered page by page like Halo: record_count is the query's total, page_size
    is capped at `cap`; `before(n)` runs before the n-th request (1-based) to change the rows."""

    def __init__(self, ids: List[int], cap: int = 100, repeat_last_page: bool = False, overstate: int = 0):
        self.rows = [{"id": i} for i in ids]
        self.cap = cap
        self.repeat_last_page = repeat_last_page
        self.overstate = overstate
        self.requests: List[tuple] = []
        self.before: Optional[Callable[[int], None]] = None
        self.too_large: set = set()  # (page_no, page_size) answered 502

    def fetch(self, page_no: int, page_size: int) -> Page:
        self.requests.append((page_no, page_size))
        if self.before:
            self.before(len(self.requests))
        if (page_no, page_size) in self.too_large:
            raise PageTooLarge("Halo's gateway gave up (HTTP 502)")
        size = min(page_size, self.cap)
        start = (page_no - 1) * size
        rows = self.rows[start:start + size]
        if not rows and self.repeat_last_page and self.rows:
            last = (len(self.rows) - 1) // size
            rows = self.rows[last * size:(last + 1) * size]
        return Page([dict(r) for r in rows], len(self.rows) + self.overstate, page_no, page_size)

    def delete(self, row_id: int) -> None:
        self.rows = [r for r in self.rows if r["id"] != row_id]


def read_in_parallel(query: FakeQuery, page_size: int = 100, holds=None, seen=None):
    """read_part as the reader drives it: page 1 first, then every other page asked for at once (here:
    fetched in page order before any is consumed, as workers would), then consumed in order."""
    first = fetch_rows(query.fetch, 1, page_size, "test")
    size = effective_page_size(first)
    later = [fetch_rows(query.fetch, n, size, "test") for n in pages_after(first)]
    stats = PartStats()
    seen = set() if seen is None else seen
    pages = list(read_part(first, [lambda p=p: p for p in later], query.fetch, seen, holds, stats, "test", LOG))
    return [r["id"] for rows in pages for r in rows], stats


def test_every_page_is_asked_for_once_when_nothing_changes():
    query = FakeQuery(list(range(1, 451)))
    ids, stats = read_in_parallel(query)
    assert ids == list(range(1, 451))
    assert query.requests == [(n, 100) for n in range(1, 6)]  # ceil(450/100) pages, no more
    assert not stats.sequential


def test_a_page_capped_by_halo_is_not_the_end():
    # Halo cuts page_size to its cap without a word (docs/halo-api.md 2.1): here 40.
    query = FakeQuery(list(range(1, 201)), cap=40)
    ids, _ = read_in_parallel(query, page_size=100)
    assert ids == list(range(1, 201))
    assert [size for _, size in query.requests[1:]] == [40] * 4  # the rest asked for at the size Halo used


def test_pages_past_the_end_that_repeat_the_last_page_are_not_taken_as_new_rows():
    # record_count says 7 more than there are, and Halo repeats the last page past the end.
    query = FakeQuery(list(range(1, 201)), repeat_last_page=True, overstate=107)
    ids, _ = read_in_parallel(query)
    assert ids == list(range(1, 201))
    assert len(query.requests) == 4  # ceil(307/100): the reader does not go on past what it was told


def test_a_row_leaving_the_query_while_pages_are_read_in_parallel_makes_the_part_be_read_again():
    query = FakeQuery(list(range(1, 501)))
    # Ticket 5 is updated (leaves the window) after page 1 was read: every later row moves up one
    # place, so row 101 is now on page 1, already read, and page 2 starts at row 102.
    query.before = lambda n: query.delete(5) if n == 2 else None
    ids, stats = read_in_parallel(query)
    assert set(ids) == set(range(1, 501))  # 101 was caught by the second, page-by-page reading
    assert len(ids) == len(set(ids))  # and nothing was emitted twice
    assert stats.sequential


def test_the_sequential_reader_steps_back_after_a_drop_instead_of_starting_over():
    query = FakeQuery(list(range(1, 1001)))
    query.before = lambda n: [query.delete(i) for i in (3, 4)] if n == 4 else None  # before page 4
    stats = PartStats()
    ids = [r["id"] for rows in read_sequentially(query.fetch, 100, set(), None, stats, "test", LOG) for r in rows]
    assert set(ids) == set(range(1, 1001))  # 3 and 4 were read on page 1, before they left
    assert stats.step_backs == 1
    # page 4 saw 2 fewer rows: read again from page 3 (the two rows that moved may sit there), not page 1
    assert query.requests[:6] == [(1, 100), (2, 100), (3, 100), (4, 100), (3, 100), (4, 100)]


def test_the_sequential_reader_stops_at_record_count_and_on_a_repeated_page():
    query = FakeQuery(list(range(1, 251)), repeat_last_page=True, overstate=100)
    ids = [r["id"] for rows in read_sequentially(query.fetch, 100, set(), None, PartStats(), "test", LOG) for r in rows]
    assert ids == list(range(1, 251))
    assert query.requests == [(1, 100), (2, 100), (3, 100), (4, 100)]  # page 4 repeats page 3: the end


def test_counts_that_keep_going_up_and_down_end_the_read_as_transient(monkeypatch):
    monkeypatch.setattr("source_haloitsm.paging.MAX_STEP_BACKS", 3)
    query = FakeQuery(list(range(1, 301)))
    query.overstate = 0

    def flap(n):
        query.overstate = 5 if n % 2 else 0  # record_count 305, 300, 305, 300 ...

    query.before = flap
    with pytest.raises(TransientHaloError) as raised:
        list(read_sequentially(query.fetch, 100, set(), None, PartStats(), "stream 'tickets'", LOG))
    assert "stream 'tickets'" in raised.value.message and "next sync resumes" in raised.value.message


def test_502_asks_for_the_same_rows_again_in_smaller_pages(monkeypatch):
    monkeypatch.setenv("SOURCE_HALOITSM_BACKOFF_SCALE", "0")
    query = FakeQuery(list(range(1, 301)))
    query.too_large = {(2, 100)}
    ids, _ = read_in_parallel(query)
    assert ids == list(range(1, 301))
    assert query.requests == [(1, 100), (2, 100), (3, 50), (4, 50), (3, 100)]  # rows 101-200 as pages 3 and 4 of 50


@pytest.mark.parametrize("position,size,expected", [(100, 100, 50), (300, 100, 50), (150, 100, 50), (140, 100, 35), (7, 100, 7), (0, 2, 1)])
def test_a_smaller_page_size_still_addresses_the_same_position(position, size, expected):
    smaller = next_smaller_page_size(position, size)
    assert smaller == expected and position % smaller == 0 and smaller <= max(1, size // 2)


def test_rows_outside_the_window_and_ids_already_emitted_are_skipped():
    query = FakeQuery(list(range(1, 121)))
    seen = {7, 8}  # emitted by the window's other part
    ids, _ = read_in_parallel(query, holds=lambda row: row["id"] % 10 != 0, seen=seen)
    assert ids == [i for i in range(1, 121) if i % 10 and i not in (7, 8)]
