"""Window planning on its own (windows.py), against a fake probe over a known set of timestamps: the
windows cover the range exactly, sit on midnights, stay near their target, and cost few probes."""
import bisect
import datetime as dt
import random

import pytest

from source_haloitsm.datetimes import UTC
from source_haloitsm.paging import Page
from source_haloitsm.windows import Probe, Window, WindowPlanner

UPPER = dt.datetime(2026, 3, 14, 15, 9, 26, 535000, tzinfo=UTC)  # a read's "now", frozen


class FakeHalo:
    """One part; record_count is what Halo's filter `[start - 1 s, ceil(end)]` would count."""

    def __init__(self, stamps):
        self.stamps = sorted(stamps)
        self.probes = []

    def probe(self, window: Window) -> Probe:
        self.probes.append(window)
        query = window.query()
        low = dt.datetime.strptime(query["lastupdatefromdate"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) if "lastupdatefromdate" in query else None
        high = dt.datetime.strptime(query["lastupdatetodate"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        inside = self.stamps[0 if low is None else bisect.bisect_left(self.stamps, low):bisect.bisect_right(self.stamps, high)]
        # the first page in id order: here, the oldest rows (ids grow with time)
        rows = [{"id": i, "last_update": s.isoformat()} for i, s in enumerate(inside[:100])]
        return Probe([Page(rows, len(inside), 1, 100)])

    def count(self, window: Window) -> int:
        low = 0 if window.start is None else bisect.bisect_left(self.stamps, window.start)
        return bisect.bisect_left(self.stamps, window.end) - low


def uniform(n, days, seed=1):
    rng = random.Random(seed)
    return [UPPER - dt.timedelta(seconds=rng.uniform(0, days * 86400)) for _ in range(n)]


def plan(halo, lower, target=2000, open_start=False):
    planner = WindowPlanner(lower, UPPER, target, halo.probe, open_start=open_start)
    return planner, [w for w, _ in planner.plan()]


def assert_cover(windows, lower, open_start=False):
    assert windows[0].start == (None if open_start else lower)
    assert windows[-1].end == UPPER
    for before, after in zip(windows, windows[1:]):
        assert before.end == after.start  # contiguous: nothing between two windows
        assert before.end.time() == dt.time(0), before.end  # inner edges on midnight UTC


def test_a_range_that_fits_one_window_costs_one_probe_and_no_planning():
    halo = FakeHalo(uniform(2500, 30))
    planner, windows = plan(halo, UPPER - dt.timedelta(days=30))
    assert windows == [Window(UPPER - dt.timedelta(days=30), UPPER)]
    assert len(halo.probes) == 1 and planner.total_estimate == 2500


@pytest.mark.parametrize("n,days", [(20000, 730), (5000, 730), (200000, 730), (3500, 10)])
def test_windows_cover_the_range_near_their_target_with_few_rejected_probes(n, days):
    halo = FakeHalo(uniform(n, days))
    lower = UPPER - dt.timedelta(days=days)
    planner, windows = plan(halo, lower)
    assert_cover(windows, lower)
    counts = [halo.count(w) for w in windows]
    assert sum(counts) == n
    one_day = [w for w in windows if w.end - (w.start or lower) <= dt.timedelta(days=1)]
    assert all(c <= 2000 * WindowPlanner.TOLERANCE for w, c in zip(windows, counts) if w not in one_day), counts
    assert len(windows) <= n / 2000 * 1.6 + 1, (len(windows), counts)
    assert planner.rejected <= 2 + len(windows) // 5, planner.rejected  # the whole range, plus a few


def test_without_start_date_the_first_window_is_open_to_the_left_and_sized_from_where_data_starts():
    halo = FakeHalo(uniform(20000, 365))
    planner, windows = plan(halo, dt.datetime(2000, 1, 1, tzinfo=UTC), open_start=True)
    assert_cover(windows, None, open_start=True)
    assert sum(halo.count(w) for w in windows) == 20000
    assert planner.rejected <= 3  # not a long walk down from the year 2000


def test_a_quiet_year_then_a_busy_month_costs_a_handful_of_probes():
    stamps = uniform(30, 365, seed=2) + [UPPER - dt.timedelta(days=20, seconds=s) for s in range(0, 20 * 86400, 240)]
    halo = FakeHalo(stamps)
    lower = UPPER - dt.timedelta(days=400)
    planner, windows = plan(halo, lower)
    assert_cover(windows, lower)
    assert sum(halo.count(w) for w in windows) == len(stamps)
    assert len(halo.probes) <= len(windows) + 8, (len(halo.probes), len(windows))


def test_a_single_day_is_never_split_however_full():
    day = UPPER.replace(hour=0, minute=0, second=0, microsecond=0)
    halo = FakeHalo([day + dt.timedelta(seconds=i % 50000) for i in range(9000)])
    planner, windows = plan(halo, day)
    assert windows == [Window(day, UPPER)]


def test_rows_in_the_second_before_an_edge_do_not_break_the_plan():
    # Every window's query reaches one second back: hundreds of rows in the second before a midnight
    # are counted by two candidates. The plan still covers everything once.
    edge = (UPPER - dt.timedelta(days=100)).replace(hour=0, minute=0, second=0, microsecond=0)
    stamps = uniform(6000, 200, seed=3) + [edge - dt.timedelta(milliseconds=i) for i in range(1, 900)]
    halo = FakeHalo(stamps)
    lower = UPPER - dt.timedelta(days=200)
    _, windows = plan(halo, lower)
    assert_cover(windows, lower)
    assert sum(halo.count(w) for w in windows) == len(stamps)
