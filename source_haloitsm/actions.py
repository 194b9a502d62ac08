"""How the `actions` stream reads Halo's actions (a ticket's notes, emails, status changes and time
entries): by time for history, by changed ticket for incremental syncs.

`GET /api/Actions` answers one ticket's actions (`ticket_id`), or the actions of a date range
(`startdate`/`enddate`, on the action's `datetime`); a claim says a range without `ticket_id` may
span one day at most (docs/halo-api.md 6 and 7.1). An action's `id` is unique only within its ticket.

**History (full refresh, and the first incremental sync): by time.** Day windows aligned to midnight
UTC, each asked for as `startdate = start - 1 s`, `enddate = end` (so the window is covered whether
Halo compares with `>` or `>=`, `<` or `<=`) and kept exactly `[start, end)` on our side; every
window's first page is asked for ahead, in parallel, and the other pages once its `record_count` is
known. A query reaching one second back spans a day and a second: if Halo refuses it (the one-day limit
counted strictly), the history is read in 12-hour windows instead, whose queries stay well under a day
(one refused request). Cost: 1 request a day of history (2 with 12-hour windows) plus 1 per 100
actions, where reading ticket by ticket costs 1 per ticket (`make bench-requests` prints both;
docs/architecture.md has the figures). History starts at `start_date`, or at the oldest ticket's
`dateoccurred` (one pass over the ticket list, 1 request per 100 tickets; actions happen after their
ticket occurred).

**Incremental syncs: the tickets changed since the state.** The ticket list filtered by `last_update`
(minus the look-back) names them; each one's actions are read whole (`ticket_id`), so new, edited and
deleted actions all show: a ticket's `last_update` moves with each of them. Cost: the ticket list's
pages plus 1 request per changed ticket; actions of tickets that did not change are not asked for.
A date range could only find new actions: an edited action keeps its `datetime`. Where that is enough
and changed tickets are many, `actions_incremental: by_time` reads the days since the state instead
(`make bench-requests` prints both).

**Instances that do not answer date ranges** (they answer 400, or an empty list): the connector
checks the first window (and one ticket whose last action lies in the history: its window must not
come back empty), and otherwise reads the history ticket by ticket, saying so in one log line. The
`actions_history` setting can ask for that from the start.

The state is `{"datetime": ...}`: the end of the last history window emitted, or the start of the
last incremental sync once every changed ticket was read. While a read by time is under way (in an
incremental sync) the state also holds `history_to`, where that read ends: a sync that was stopped in
the middle of it (killed, or failed) goes on by time from its state to `history_to`, then reads the
tickets changed since `history_to` whole, instead of reading every ticket changed since the state (the
rest of the history) one request each.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from source_haloitsm import datetimes, endpoints
from source_haloitsm.client import RequestRejected
from source_haloitsm.datetimes import parse_halo_datetime
from source_haloitsm.paging import every_list_page, list_page
from source_haloitsm.reader import PendingProbe, Planned, StreamReader
from source_haloitsm.state import LOOKBACK  # an incremental sync starts this long before the state, as tickets do
from source_haloitsm.datetimes import to_query
from source_haloitsm.windows import Window, ceil_second, floor_day

# Window lengths tried in turn: a day, then half a day if Halo refuses a day and a second.
SPANS = (dt.timedelta(days=1), dt.timedelta(hours=12))
# Tickets whose actions one job reads (their first pages are asked for at once).
TICKETS_PER_JOB = 20
# Windows (or ticket jobs) whose first pages are asked for ahead of the one being read.
PROBES_AHEAD = 16
STATUS_PARTS = ({"open_only": "true"}, {"closed_only": "true"})


@dataclasses.dataclass
class TicketMark:
    id: int
    last_update: Optional[dt.datetime]
    lastactiondate: Optional[dt.datetime]
    dateoccurred: Optional[dt.datetime]


def windows(lower: dt.datetime, upper: dt.datetime, span: dt.timedelta = SPANS[0]) -> List[Window]:
    """Windows of `span` (a day, or a part of one) from `lower` to `upper`, inner edges on multiples of
    `span` from midnight UTC."""
    edges = [lower]
    edge = floor_day(lower) + span * (1 + (lower - floor_day(lower)) // span)
    while edge < upper:
        edges.append(edge)
        edge += span
    edges.append(upper)
    return [Window(a, b) for a, b in zip(edges, edges[1:]) if a < b]


class ActionsPlan:
    def __init__(self, stream: Any, reader: StreamReader, incremental: bool, logger: logging.Logger):
        self.stream = stream
        self.reader = reader
        self.reports_deletions = incremental  # an incremental sync (deletions.py), from a state or not
        self.incremental = incremental and stream.state_value is not None
        self.listed: frozenset = frozenset()
        self.gone: List[int] = []
        self.seen: Dict[str, str] = {}  # for the next sync: tickets read near its start (state.py's look-back)
        self.skipped = 0  # changed tickets the previous sync had read as they are: not read again
        self.logger = logger
        self.client = stream.context.client
        self.config = stream.context.config
        self.upper: dt.datetime = stream.now()
        self.strategy = ""  # what was done, for the stream's summary
        self.ticket_requests = 0  # requests of the ticket list this plan read
        self._count_lock = threading.Lock()  # the ticket list's pages come from several workers

    # ---- the ticket list ----
    def scan_tickets(self, lower: Optional[dt.datetime]) -> List[TicketMark]:
        """Every live ticket (or those whose last_update is at or after `lower`), in both status parts,
        pages read in parallel once the first page gives record_count."""
        marks: Dict[int, TicketMark] = {}
        for part in STATUS_PARTS:
            params: Dict[str, Any] = {"order": "id", "orderdesc": "false", "lastupdatetodate": to_query(ceil_second(self.upper)), **part}
            if lower is not None:
                params["lastupdatefromdate"] = to_query(lower.replace(microsecond=0) - dt.timedelta(seconds=1))
            for page in every_list_page(self.reader.call_later, self._get, endpoints.TICKETS, params, "the ticket list"):
                for row in page.rows:
                    mark = TicketMark(row.get("id"), _when(row.get("last_update")), _when(row.get("lastactiondate")), _when(row.get("dateoccurred")))
                    if mark.id is not None and (lower is None or mark.last_update is None or mark.last_update >= lower):
                        marks[mark.id] = mark
        return sorted(marks.values(), key=lambda m: m.id)

    def _get(self, path: str, params: Mapping[str, Any]) -> Any:
        """A request of the ticket list, counted for the stream's summary."""
        with self._count_lock:
            self.ticket_requests += 1
        return self.client.get(path, params)

    # ---- deleted tickets (deletions.py) ----
    def newly_deleted(self) -> List[int]:
        """The tickets deleted since the last sync: their actions are read (where Halo still lists a
        deleted ticket's actions) and reported deleted. A first sync only notes the deleted tickets."""
        self.listed = frozenset(ticket_id for ticket_id, _ in self.stream.context.deleted.entries(self.reader.call_later))
        known = self.stream._deleted_known
        self.gone = sorted(self.listed - known) if known is not None and self.incremental else []
        self.stream.deleting = frozenset(self.gone)
        found = self.upper if self.stream._in_halo_time else datetimes.utc_now()
        self.stream.deletion_stamp = found.isoformat()
        return self.gone

    def finished(self) -> None:
        """Once every job is out: the deletions reported, and the tickets read near the end remembered."""
        self.stream.deletions_reported += len(self.gone)
        self.stream._deleted_known = self.listed
        self.stream.tickets_seen = self.seen

    def skip_read_ones(self, changed: List[TicketMark]) -> List[TicketMark]:
        """The look-back without repeats (state.py), by ticket: a changed ticket whose `last_update` is the
        one the previous sync read it at is not read again."""
        seen = self.stream.tickets_seen
        band = (self.upper - LOOKBACK).isoformat()
        self.seen = {k: v for k, v in seen.items() if v >= band}
        fresh = []
        for mark in changed:
            stamp = mark.last_update.isoformat() if mark.last_update else None
            if stamp is not None and seen.get(str(mark.id)) == stamp:
                self.skipped += 1
            else:
                fresh.append(mark)
            if stamp is not None and stamp >= band:
                self.seen[str(mark.id)] = stamp
        return fresh

    # ---- the plan ----
    def __iter__(self) -> Iterator[Planned]:
        if not self.reports_deletions:
            yield from self.plan()
            return
        gone = self.newly_deleted()
        # The known deleted tickets move only once every job (the deleted tickets' actions last) is out.
        last: Optional[Planned] = None
        for planned in self.plan(gone):
            if last is not None:
                yield last
            last = planned
        if last is not None:
            last.after = _both(last.after, self.finished)
            yield last

    def plan(self, gone: Sequence[int] = ()) -> Iterator[Planned]:
        gone_marks = [TicketMark(i, None, None, None) for i in gone]
        if self.incremental and self.config.actions_incremental == "by_time":
            lower = self.stream.state_value - LOOKBACK
            yield from self.by_time(lower, None)
            self.strategy = "incremental by time (new actions only: the actions_incremental setting); " + self.strategy
            if gone_marks:
                yield from self.by_ticket(gone_marks)
            return
        if self.incremental:
            lower = self.stream.state_value - LOOKBACK
            history_to = self.stream.history_to
            if history_to is not None and self.stream.state_value < history_to and self.config.actions_history != "by_ticket":
                # A read by time stopped before its end: on by time, then what changed since it began. Its
                # windows end on multiples of their length from midnight: a state off midnight says Halo
                # refused a day and a second, and the rest is read in 12-hour windows from the start.
                state = self.stream.state_value
                yield from self.by_time(state, None, SPANS if floor_day(state) == state else SPANS[1:], end=history_to)
                resumed, self.strategy = self.strategy, ""
                lower = history_to - LOOKBACK
                changed = self.skip_read_ones(self.scan_tickets(lower))
                self.strategy = (f"{resumed} (resuming the history a previous sync left at {self.stream.state_value.isoformat()}); "
                                 f"then {len(changed)} ticket(s) changed since {lower.isoformat()}, each read whole")
                yield from self.by_ticket(changed + gone_marks)
                return
            changed = self.skip_read_ones(self.scan_tickets(lower))
            self.strategy = f"incremental: {len(changed)} ticket(s) changed since {lower.isoformat()}, each read whole" + (
                f" ({self.skipped} more in the look-back were read by the previous sync as they are)" if self.skipped else "")
            yield from self.by_ticket(changed + gone_marks)
            return
        start = self.config.start_date
        tickets: Optional[List[TicketMark]] = None
        if start is None:
            tickets = self.scan_tickets(None)
            dates = [m.dateoccurred for m in tickets if m.dateoccurred] + [m.lastactiondate for m in tickets if m.lastactiondate]
            start = floor_day(min(dates)) if dates else self.upper
        if self.config.actions_history == "by_ticket":
            self.strategy = "history by ticket (the actions_history setting)"
            yield from self.by_ticket(tickets if tickets is not None else self.scan_tickets(start))
            return
        yield from self.by_time(start, tickets)

    def by_time(self, start: dt.datetime, tickets: Optional[List[TicketMark]], spans: Tuple[dt.timedelta, ...] = SPANS,
                end: Optional[dt.datetime] = None) -> Iterator[Planned]:
        span = spans[0]
        end = end or self.upper
        planned = windows(start, end, span)
        if not planned:
            yield Planned(None, self.reader.probe(None, parts=[]), end)
            return
        pending: Deque[Tuple[Window, PendingProbe]] = deque()
        upcoming = iter(planned)

        def ask_ahead() -> None:
            while len(pending) < PROBES_AHEAD:
                window = next(upcoming, None)
                if window is None:
                    return
                pending.append((window, self.reader.probe_later(window)))

        # The first window alone: it tells whether Halo answers ranges this long at all.
        first_window = planned[0]
        try:
            probe = self.reader.probe(first_window)
            answered = self._answers_ranges(start, tickets, first_window, probe, span, end)
        except RequestRejected as rejected:
            if len(spans) > 1:
                self.logger.info(
                    f"Stream 'actions': Halo refused a date range of {_hours(span)} and a second ({rejected.message.split('.')[0]}); "
                    f"reading the history in windows of {_hours(spans[1])} instead."
                )
                yield from self.by_time(start, tickets, spans[1:], end)
                return
            self.logger.warning(
                f"Stream 'actions': Halo does not answer date ranges of actions ({rejected.message.split('.')[0]}); "
                "reading the history ticket by ticket instead, one request per ticket."
            )
            answered = False
        if not answered:
            self.strategy = "history by ticket (Halo does not answer date ranges of actions)"
            self.stream.history_to = None
            yield from self.by_ticket(tickets if tickets is not None else self.scan_tickets(start))
            return
        self.strategy = f"history by time: {len(planned)} windows of {_hours(span)} from {start.isoformat()}"
        if self.reports_deletions:  # an incremental sync: a stop before the last window resumes by time
            self.stream.history_to = end
        next(upcoming)  # the first window, read above
        yield Planned(first_window, probe, first_window.end, self._history_done if first_window.end >= end else None)
        ask_ahead()
        while pending:
            window, later = pending.popleft()
            ask_ahead()
            yield Planned(window, later.result(), window.end, self._history_done if window.end >= end else None)

    def _history_done(self) -> None:
        """Once the last window of a read by time is out: nothing of it is left to resume."""
        self.stream.history_to = None

    def _answers_ranges(self, start: dt.datetime, tickets: Optional[List[TicketMark]], window: Window, probe: Any, span: dt.timedelta,
                        end: dt.datetime) -> bool:
        """False when Halo answers date ranges with an empty list although a ticket's last action lies
        in the history: then ranges cannot be trusted."""
        if probe.pages and probe.pages[0].record_count:
            return True
        marks = tickets if tickets is not None else self.scan_tickets_sample(start)
        dated = [m for m in marks if m.lastactiondate and start <= m.lastactiondate < end]
        if not dated:
            return True  # nothing to check against: no ticket says it has an action in the history
        witness = max(dated, key=lambda m: m.lastactiondate)  # type: ignore[arg-type, return-value]
        witness_window = next(w for w in windows(start, end, span) if w.start <= witness.lastactiondate < w.end)  # type: ignore[operator]
        check = probe if witness_window == window else self.reader.probe(witness_window)
        if check.pages and check.pages[0].record_count:
            return True
        self.logger.warning(
            f"Stream 'actions': Halo answered the date range {witness_window} with no actions, although ticket "
            f"{witness.id}'s last action is at {witness.lastactiondate.isoformat()}: it does not answer date ranges of "  # type: ignore[union-attr]
            "actions. Reading the history ticket by ticket instead, one request per ticket."
        )
        return False

    def scan_tickets_sample(self, start: dt.datetime) -> List[TicketMark]:
        """One page of each status part of the tickets updated since `start`: enough to find a ticket
        whose last action lies in the history."""
        marks = []
        for part in STATUS_PARTS:
            params = {"order": "id", "orderdesc": "true", "lastupdatefromdate": to_query(start), **part}
            for row in list_page(self._get, endpoints.TICKETS, params, 1, 100).rows:
                marks.append(TicketMark(row.get("id"), _when(row.get("last_update")), _when(row.get("lastactiondate")), None))
        return marks

    def by_ticket(self, tickets: List[TicketMark]) -> Iterator[Planned]:
        """Jobs of TICKETS_PER_JOB tickets, each ticket's actions a part; the state moves to the start of
        this sync once the last job is out."""
        ids = [m.id for m in tickets]
        if not self.strategy:
            self.strategy = f"{len(ids)} ticket(s), each read whole"
        batches = [ids[i:i + TICKETS_PER_JOB] for i in range(0, len(ids), TICKETS_PER_JOB)]
        if not batches:
            yield Planned(None, self.reader.probe(None, parts=[]), self.upper)
            return
        pending: Deque[PendingProbe] = deque()
        upcoming = iter(batches)

        def ask_ahead() -> None:
            while len(pending) < max(1, PROBES_AHEAD // 4):
                batch = next(upcoming, None)
                if batch is None:
                    return
                pending.append(self.reader.probe_later(None, parts=[{"ticket_id": str(i)} for i in batch]))

        ask_ahead()
        while pending:
            later = pending.popleft()
            ask_ahead()
            yield Planned(None, later.result(), self.upper if not pending else None)


def _both(first: Optional[Callable[[], None]], then: Callable[[], None]) -> Callable[[], None]:
    if first is None:
        return then

    def both() -> None:
        first()
        then()

    return both


def _hours(span: dt.timedelta) -> str:
    return "a day" if span == dt.timedelta(days=1) else f"{span.total_seconds() / 3600:g} hours"


def _when(value: Any) -> Optional[dt.datetime]:
    try:
        return parse_halo_datetime(value)
    except ValueError:
        return None

