"""Windows of a cursor (`last_update`): the unit of progress, resume and state.

A window is `[start, end)`, aligned to midnight UTC except at the ends of the read. Its requests ask
Halo for `lastupdatefromdate = start - 1 s` and `lastupdatetodate = end` rounded up to the second (Halo's
filters take seconds), so the window is covered whether Halo compares with `>`/`>=` and `<`/`<=`
(docs/halo-api.md, 2.3: the comparison is UNKNOWN); rows outside `[start, end)` are then dropped
client-side, as they belong to the neighbouring window (or, updated during the read, to the next read).

The planner sizes windows from the data. Halo's `record_count` (the total of a query, 2.4) tells how
many rows a candidate window holds; the first page of each accepted candidate is that window's first
page, so only rejected (too large) candidates cost extra requests. It starts with one request per
part over the whole range, whose total is also Airbyte's progress estimate: a read that fits one
window costs no planning at all. Otherwise windows aim at `target` rows from the average density of
what is left; a candidate holding more than `TOLERANCE x target` rows is split (never below one day).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from source_haloitsm.datetimes import UTC, parse_halo_datetime, to_query

ONE_SECOND = dt.timedelta(seconds=1)
ONE_DAY = dt.timedelta(days=1)

# Earliest point the planner starts from when no start_date is set. The first window is open to the
# left (no lastupdatefromdate), so nothing older is missed.
HISTORY_FLOOR = dt.datetime(2000, 1, 1, tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class Window:
    start: Optional[dt.datetime]  # None: open to the left (everything before `end`)
    end: dt.datetime  # exclusive

    def __post_init__(self) -> None:
        # Emitted cursor values are ISO 8601 UTC with offset, the shape `isoformat()` gives: in that
        # shape, string order is time order, so `holds` compares strings.
        object.__setattr__(self, "_start_text", self.start.isoformat() if self.start else None)
        object.__setattr__(self, "_end_text", self.end.isoformat())

    def query(self) -> Dict[str, str]:
        # Halo's filters take whole seconds: round outwards, then filter exactly on our side.
        params = {"lastupdatetodate": to_query(ceil_second(self.end))}
        if self.start is not None:
            params["lastupdatefromdate"] = to_query(self.start.replace(microsecond=0) - ONE_SECOND)
        return params

    def holds(self, value: Any) -> bool:
        """Whether an emitted cursor value lies in [start, end). A missing or unreadable value is kept:
        a record is never dropped for its cursor."""
        if value.__class__ is str and value.endswith("+00:00") and len(value) in (25, 32):
            start = self._start_text  # type: ignore[attr-defined]
            return (start is None or value >= start) and value < self._end_text  # type: ignore[attr-defined]
        try:
            instant = parse_halo_datetime(value)
        except ValueError:
            return True
        if instant is None:
            return True
        return (self.start is None or instant >= self.start) and instant < self.end

    def as_slice(self) -> Dict[str, Any]:
        return {"start": self.start.isoformat() if self.start else None, "end": self.end.isoformat()}

    def __str__(self) -> str:
        start = self.start.strftime("%Y-%m-%dT%H:%M:%SZ") if self.start else "(all earlier)"
        return f"[{start}, {self.end.strftime('%Y-%m-%dT%H:%M:%SZ')})"


def ceil_second(value: dt.datetime) -> dt.datetime:
    return value if value.microsecond == 0 else value.replace(microsecond=0) + ONE_SECOND


def next_midnight(value: dt.datetime) -> dt.datetime:
    return floor_day(value) + ONE_DAY


def floor_day(value: dt.datetime) -> dt.datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclasses.dataclass
class Probe:
    """The first page of each part of a candidate window."""

    pages: List[Any]  # paging.Page, one per part
    parts: List[Any] = dataclasses.field(default_factory=list)  # the queries the pages answer

    @property
    def count(self) -> int:
        return sum(p.record_count for p in self.pages)


# probe(window) -> the first page of each part (read in parallel)
ProbeFn = Callable[[Window], Probe]


class WindowPlanner:
    """Yields `(window, probe)` in time order. `target` is the size a window aims at."""

    TOLERANCE = 1.5

    def __init__(
        self,
        lower: dt.datetime,
        upper: dt.datetime,
        target: int,
        probe: ProbeFn,
        open_start: bool = False,
        cursor: str = "last_update",
    ):
        self.lower = lower
        self.upper = upper
        self.target = max(1, target)
        self.probe = probe
        self.open_start = open_start
        self.cursor = cursor
        self.total_estimate: Optional[int] = None
        self.rejected = 0  # candidates probed and found too large

    def _data_start(self, probe: Probe) -> dt.datetime:
        """Where the rows of the range seem to start: the oldest cursor value of the first pages (the
        oldest ids), never before `lower`. Without a start_date the range starts in 2000; this keeps the
        first window's size estimate from spreading the rows over empty years."""
        stamps = []
        for page in probe.pages:
            for row in page.rows:
                try:
                    stamp = parse_halo_datetime(row.get(self.cursor))
                except ValueError:
                    stamp = None
                if stamp is not None:
                    stamps.append(stamp)
        if not stamps:
            return self.lower
        return max(self.lower, floor_day(min(stamps)))

    def plan(self) -> Iterator[Tuple[Window, Probe]]:
        if self.lower >= self.upper:
            return
        limit = self.target * self.TOLERANCE
        whole = Window(None if self.open_start else self.lower, self.upper)
        first = self.probe(whole)
        total = self.total_estimate = first.count
        if total <= limit or self.upper <= next_midnight(self.lower):
            yield whole, first
            return
        self.rejected += 1
        lo = self.lower
        span_from = self._data_start(first)  # where the next window's rows start, for its size
        seen = 0
        leftmost = True
        # `seen` over-counts when rows sit in the second before a window edge (every window's query
        # reaches one second back), so "the rest fits in one window" can be wrong: once that shortcut
        # was rejected, plan the rest by density alone.
        trust_total = True
        span: Optional[float] = None  # seconds, after a rejection
        while lo < self.upper:
            rest = max(total - seen, 0)
            shortcut = trust_total and span is None and rest <= limit
            if shortcut:
                end = self.upper
            else:
                if span is None:
                    density = max(rest, 1) / max((self.upper - span_from).total_seconds(), 1.0)
                    span = self.target / density
                end = min(self.upper, max(next_midnight(lo), floor_day(span_from + dt.timedelta(seconds=span))))
            window = Window(None if (leftmost and self.open_start) else lo, end)
            probe = self.probe(window)
            if probe.count > limit and end > next_midnight(lo):
                self.rejected += 1
                trust_total = trust_total and not shortcut
                covered = max((end - span_from).total_seconds(), 1.0)
                span = min(covered / 2, covered * self.target / probe.count)
                continue
            yield window, probe
            leftmost = False
            seen += probe.count
            span = None
            lo = span_from = end
