"""Windows of `last_update`: the unit of progress, resume and parallelism.

A window is `[start, end)`, aligned to midnight UTC except at the ends of the read.
Its requests ask Halo for `lastupdatefromdate = start - 1 s` and `lastupdatetodate = end` (rounded out
to whole seconds, as Halo's filters take seconds), so the
window is covered whether Halo compares with `>`/`>=` and `<`/`<=` (HALO_API_FACTS.md 2.3: the
comparison is UNKNOWN); records outside `[start, end)` are then dropped client-side, as they belong to
the neighbouring window (or, updated during the read, to the next read).

The planner sizes windows from the data: Halo's `record_count` (the total of a query, 2.4) tells how
many tickets a candidate window holds. Sparse stretches coalesce into multi-day windows, dense days
stay one day; the first page of every accepted candidate is the window's first page, so only rejected
(too large) candidates cost an extra request.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from source_haloitsm.datetimes import UTC, normalize, parse_halo_datetime, to_query

ONE_SECOND = dt.timedelta(seconds=1)
ONE_DAY = dt.timedelta(days=1)

# Earliest point the planner starts from when no start_date is set. The first window is open to the
# left (no lastupdatefromdate), so nothing older is missed.
HISTORY_FLOOR = dt.datetime(2000, 1, 1, tzinfo=UTC)

# Halo's list endpoint may leave old closed tickets out when neither open_only nor closed_only is sent
# (2.1: the default is UNKNOWN; S9 claims "open plus recently-closed"). Every window is therefore read
# in two parts whose union is every ticket: open_only=true and closed_only=true (both S2, S3, S6).
STATUS_PARTS: Tuple[Mapping[str, str], ...] = ({"open_only": "true"}, {"closed_only": "true"})


@dataclasses.dataclass(frozen=True)
class Window:
    start: Optional[dt.datetime]  # None: open to the left (everything before `end`)
    end: dt.datetime  # exclusive

    def query(self) -> Dict[str, str]:
        # Halo's filters take whole seconds: round outwards, then filter exactly on our side.
        params = {"lastupdatetodate": to_query(ceil_second(self.end))}
        if self.start is not None:
            params["lastupdatefromdate"] = to_query(self.start.replace(microsecond=0) - ONE_SECOND)
        return params

    def holds(self, last_update: Optional[dt.datetime]) -> bool:
        if last_update is None:
            return True  # never drop a record whose cursor value is missing or unreadable
        if self.start is not None and last_update < self.start:
            return False
        return last_update < self.end

    def as_slice(self, index: int) -> Dict[str, Any]:
        return {
            "window": index,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat(),
        }

    def __str__(self) -> str:
        start = self.start.strftime("%Y-%m-%dT%H:%M:%SZ") if self.start else "(all earlier)"
        return f"[{start}, {self.end.strftime('%Y-%m-%dT%H:%M:%SZ')})"


@dataclasses.dataclass
class Page:
    """One answer of GET /api/Tickets."""

    tickets: List[Mapping[str, Any]]
    record_count: int
    page_no: int
    page_size: int  # the page size the request asked for

    @property
    def ids(self) -> List[Any]:
        return [t.get("id") for t in self.tickets]


Probe = Callable[[Window, Mapping[str, str]], Page]


def ceil_second(value: dt.datetime) -> dt.datetime:
    return value if value.microsecond == 0 else value.replace(microsecond=0) + ONE_SECOND


def next_midnight(value: dt.datetime) -> dt.datetime:
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    return day + ONE_DAY


def floor_day(value: dt.datetime) -> dt.datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


class WindowPlanner:
    """Yields `(window, first pages)` in time order, the first page of each status part already read.

    `target_records` is the size a window aims for; a candidate holding more than `1.25 x target` is
    split, unless it is a single day already.
    """

    TOLERANCE = 1.25

    def __init__(
        self,
        lower: dt.datetime,
        upper: dt.datetime,
        target_records: int,
        probe: Probe,
        open_start: bool = False,
        parts: Sequence[Mapping[str, str]] = STATUS_PARTS,
    ):
        self.lower = lower
        self.upper = upper
        self.target = max(1, target_records)
        self.probe = probe
        self.open_start = open_start
        self.parts = parts
        self.total_estimate: Optional[int] = None
        self.rejected = 0

    def _probe_all(self, window: Window) -> Tuple[List[Page], int]:
        pages = [self.probe(window, part) for part in self.parts]
        return pages, sum(p.record_count for p in pages)

    def _span_after_rejection(self, lo: dt.datetime, span_days: float, pages: List[Page], count: int) -> float:
        """A smaller span for a candidate that held `count` > target records.

        The first pages are a sample of the candidate's tickets: the span that holds `target/count` of
        the sample estimates where `target` records end, and finds clustered data (a quiet year before
        it is crossed in one step). Halo's first pages in id order lean to older tickets, which only
        makes the estimate smaller. Without a usable sample, assume uniform density. Always at least
        halve, so planning converges; never below one day."""
        estimate = span_days * self.target / count
        stamps = sorted(t for t in (last_update_of(r) for p in pages for r in p.tickets) if t is not None and t >= lo)
        k = int(len(stamps) * self.target / count)
        if k < len(stamps):
            estimate = (stamps[k] - lo).total_seconds() / 86400
        return max(1.0, min(estimate, span_days / 2))

    def plan(self) -> Iterator[Tuple[Window, List[Page]]]:
        if self.lower >= self.upper:
            return
        limit = self.target * self.TOLERANCE
        whole = Window(None if self.open_start else self.lower, self.upper)
        pages, total = self._probe_all(whole)
        self.total_estimate = total
        if total <= limit or self.upper <= next_midnight(self.lower):
            yield whole, pages
            return
        self.rejected += 1
        span_days = self._span_after_rejection(self.lower, (self.upper - self.lower).total_seconds() / 86400, pages, total)
        lo = self.lower
        seen = 0
        first = True
        # `seen` over-counts when tickets sit in the second before a window edge (every window's query
        # reaches one second back), so the whole range's total can say "the rest fits" when it does not:
        # once that shortcut was rejected, plan the rest by the span alone.
        trust_total = True
        while lo < self.upper:
            shortcut = trust_total and total - seen <= limit
            if shortcut:
                end = self.upper  # what is left fits in one window (record_count of the whole range)
            else:
                end = min(self.upper, max(next_midnight(lo), floor_day(lo + dt.timedelta(days=span_days))))
            window = Window(None if (first and self.open_start) else lo, end)
            pages, count = self._probe_all(window)
            if count > limit and end > next_midnight(lo):
                self.rejected += 1
                trust_total = trust_total and not shortcut
                span_days = self._span_after_rejection(lo, (end - lo).total_seconds() / 86400, pages, count)
                continue
            yield window, pages
            first = False
            seen += count
            span_days = max(1.0, (end - lo).total_seconds() / 86400 * min(4.0, max(0.5, self.target / max(count, 1))))
            lo = end


def transform_record(
    record: Mapping[str, Any],
    datetime_fields: Sequence[str],
    integer_fields: Sequence[str],
    keep: Optional[Sequence[str]] = None,
) -> Dict[str, Any]:
    """Halo list row -> emitted record: datetimes as ISO 8601 UTC with offset (sentinels -> null),
    integral decimals in integer fields as integers (2.5: ids sometimes come as `18.0`), and an
    optional projection onto `keep`."""
    out = dict(record) if keep is None else {k: record[k] for k in keep if k in record}
    for name in datetime_fields:
        if name in out:
            out[name] = normalize(out[name])
    for name in integer_fields:
        value = out.get(name)
        if isinstance(value, float) and value.is_integer():
            out[name] = int(value)
    return out


def last_update_of(record: Mapping[str, Any]) -> Optional[dt.datetime]:
    try:
        return parse_halo_datetime(record.get("last_update"))
    except ValueError:
        return None
