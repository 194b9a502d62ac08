"""The streams. The core (reader.py, paging.py, windows.py, client.py) carries paging, errors, state and
concurrency; a stream declares what Halo needs:

    class Tickets(CursorStream):
        name = "tickets"
        endpoint = endpoints.TICKETS            # path, where the rows are, whether Halo pages it
        cursor_field = "last_update"            # windows of this field; state = end of the last window
        parts = STATUS_PARTS                    # queries whose union is every row of a window
        params = {"order": "id", "orderdesc": "false"}

The bases are the CDK's `Stream` with `CheckpointMixin` (state) rather than `HttpStream`: every stream
shares one HTTP client (client.py) and the workers (scheduler.py), and pages are read in parallel,
so `HttpStream`'s per-stream client and sequential `next_page_token`/`parse_response` loop would be
dead code.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import operator
import pkgutil
import threading
import time
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, MutableMapping, Optional, Sequence, Tuple

from airbyte_cdk.models import (
    AirbyteEstimateTraceMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    EstimateType,
    SyncMode,
    TraceType,
    Type,
)
from airbyte_cdk.sources.streams import CheckpointMixin, Stream

from source_haloitsm import custom_fields, datetimes, endpoints, redaction
from source_haloitsm.client import HaloClient
from source_haloitsm.config import DEFAULT_STREAM_NAME, HaloConfig, TicketTypeStream
from source_haloitsm.custom_fields import CustomField, Flattener
from source_haloitsm.datetimes import parse_state_value
from source_haloitsm.endpoints import Endpoint
from source_haloitsm.errors import ConfigError
from source_haloitsm.paging import Page, PartStats
from source_haloitsm.reader import Planned, StreamQuery, StreamReader
from source_haloitsm.records import RecordBatch, RecordNormalizer
from source_haloitsm.scheduler import Scheduler
from source_haloitsm.schemas import DATETIME_FIELDS, INTEGER_FIELDS, ticket_schema
from source_haloitsm.actions import ActionsPlan
from source_haloitsm.datetimes import to_query
from source_haloitsm.deletions import DELETED_AT, DELETION_JOB, DeletedTickets, mark_deleted
from source_haloitsm.state import LOOKBACK, IdSet, LookBack, decode_ids, encode_ids, parse_look_back
from source_haloitsm.windows import HISTORY_FLOOR, ONE_SECOND, Probe, Window, WindowPlanner, ceil_second

# A window aims at this many pages of records.
WINDOW_TARGET_PAGES = 20

# Halo's list may leave old closed tickets out when neither open_only nor closed_only is sent
# (docs/halo-api.md, 2.1: the default is UNKNOWN). Every window is therefore read in two parts whose
# union is every ticket.
STATUS_PARTS: Tuple[Mapping[str, str], ...] = ({"open_only": "true"}, {"closed_only": "true"})


@dataclasses.dataclass
class ReadContext:
    """What every stream of one read shares: the configuration, the HTTP client (budget, tokens,
    error handling) and the workers."""

    config: HaloConfig
    client: HaloClient
    scheduler: Scheduler
    batch_records: bool = False  # records go out a page at a time (records.RecordBatch)
    clock: Optional[Callable[[], dt.datetime]] = None  # Halo's present (clock.py); default: the client's
    custom_fields: Tuple[CustomField, ...] = ()  # resolved against /api/FieldInfo (custom_fields.py)
    ticket_type_ids: Dict[str, int] = dataclasses.field(default_factory=dict)  # stream name -> resolved type id
    deleted: Optional[DeletedTickets] = None  # the read's one listing of deleted tickets (deletions.py)

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = self.client.now
        if self.deleted is None:
            self.deleted = DeletedTickets(self.client.get)

    @property
    def clock_known(self) -> bool:
        """Whether Halo's answers told its clock (clock.py): else states follow the newest cursor value read."""
        return self.client.clock.known


class HaloStream(Stream, CheckpointMixin):
    """A Halo list, read through the shared client and workers, emitted in order."""

    endpoint: Endpoint
    primary_key: Any = "id"
    cursor_field: Any = []  # a field name for streams read in windows of it
    parts: Sequence[Mapping[str, str]] = ({},)
    params: Mapping[str, Any] = {}
    schema_name: Optional[str] = None  # schemas/<schema_name>.json (the stream's name when not set)
    datetime_fields: Optional[Sequence[str]] = None  # default: the schema's date-time properties
    integer_fields: Optional[Sequence[str]] = None  # default: the schema's integer properties
    skips_look_back_repeats = False  # records of the look-back emitted by the previous read are not sent again (state.py)
    reports_deletions = False  # incremental reads report tickets deleted in Halo (deletions.py); state `deleted_ids`

    def __init__(self, context: ReadContext, rank: int = 0):
        self.context = context
        self.rank = rank
        schema = self.get_json_schema()
        self._normalize = RecordNormalizer(
            self.datetime_fields if self.datetime_fields is not None else typed_fields(schema, "date-time"),
            self.integer_fields if self.integer_fields is not None else typed_fields(schema, "integer"),
            self.keep_fields(),
        )
        self._normalize = redaction.wrap(self._normalize, self)  # the `redaction` setting: drops and masks (redaction.py)
        self._reader: Optional[StreamReader] = None
        self._jobs: Dict[int, Any] = {}
        self._state_value: Optional[dt.datetime] = None
        self._state_cache: Optional[MutableMapping[str, Any]] = None
        self._look_back = LookBack(self.cursor_field or "", self.record_key, {})
        self._deleted_known: Optional[FrozenSet[int]] = None  # from the state: deleted tickets already reported
        self.deletions_reported = 0
        self._on_rows: Optional[Callable[[List[Dict[str, Any]]], None]] = None  # sees every emitted page
        self._in_halo_time = True  # whether the read's "now" was Halo's (clock.py); see now()
        self._range: Optional[Tuple[dt.datetime, dt.datetime, bool]] = None
        self._windows = 0
        self._records = 0
        self._sequential_rereads = 0
        self._empty_windows = 0  # windows that held no records: counted in the summary, not logged one by one

    def get_json_schema(self) -> Mapping[str, Any]:
        return redaction.schema(load_schema(self.schema_name or self.name), self)

    @functools.cached_property
    def record_key(self) -> Callable[[Mapping[str, Any]], Any]:
        """A row's primary key: rows already emitted in a window are recognised by it."""
        keys = [self.primary_key] if isinstance(self.primary_key, str) else [k if isinstance(k, str) else k[0] for k in self.primary_key]
        return operator.itemgetter(*keys)

    @property
    def is_resumable(self) -> bool:
        # A list without a cursor is read whole on every sync: not the CDK's "resumable full refresh",
        # whose state is a page token.
        return bool(self.cursor_field)

    def keep_fields(self) -> Optional[Sequence[str]]:
        return None

    # ---- one page: what the workers run ----
    def request_params(self, window: Optional[Window], part: Mapping[str, str], page_no: int, page_size: int) -> Dict[str, Any]:
        return {
            **self.endpoint.page_params(page_no, page_size),
            **dict(self.endpoint.params),
            **self.params,
            **(window.query() if window else {}),
            **part,
        }

    def get_page(self, window: Optional[Window], part: Mapping[str, str], page_no: int, page_size: int) -> Page:
        body = self.context.client.get(self.endpoint.path, self.request_params(window, part, page_no, page_size))
        record = self._record
        rows = [record(row) for row in self._complete(self.endpoint.rows(body))]
        count = self.endpoint.record_count(body)
        return Page(rows, len(rows) if count is None else count, page_no, page_size, key=self.record_key)

    def _complete(self, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """What a page's rows need from Halo beyond the page itself (nothing, but for TicketsStream)."""
        return rows

    def _record(self, row: Dict[str, Any]) -> Dict[str, Any]:
        """One of Halo's rows as the stream's record."""
        return self._normalize(row)

    # ---- planning: the default is one query over everything ----
    def plan(self, reader: StreamReader, sync_mode: SyncMode) -> Iterable[Planned]:
        yield Planned(None, reader.probe(None))

    def holds(self, window: Optional[Window]) -> Optional[Callable[[Mapping[str, Any]], bool]]:
        return None

    # ---- state ----
    @property
    def state(self) -> MutableMapping[str, Any]:
        # The CDK reads it after every record: built once per change.
        if self._state_cache is None:
            state: Dict[str, Any] = {}
            if self.cursor_field and self._state_value:
                state[self.cursor_field] = self._state_value.isoformat()
                if self.skips_look_back_repeats:
                    state["look_back"] = self._look_back.state()
            state.update(self._state_extras())
            self._state_cache = state
        return self._state_cache

    def _state_extras(self) -> Dict[str, Any]:
        return {"deleted_ids": encode_ids(self._deleted_known)} if self.reports_deletions and self._deleted_known is not None else {}

    def _load_state_extras(self, value: Mapping[str, Any]) -> None:
        raw = value.get("deleted_ids")
        if not self.reports_deletions or raw is None:
            self._deleted_known = None
            return
        try:
            self._deleted_known = decode_ids(raw)
        except ValueError:
            raise self._bad_state("deleted_ids", raw, "a list of ticket id ranges") from None

    def _bad_state(self, key: str, raw: Any, expected: str) -> ConfigError:
        """A saved state this connector cannot read: what is wrong and what to do."""
        return ConfigError(
            f"The saved state of stream '{self.name}' has {key}={str(raw)[:80]!r}, which is not {expected}. "
            "Reset the stream's data in Airbyte to start again from start_date."
        )

    @state.setter
    def state(self, value: Mapping[str, Any]) -> None:
        if not self.cursor_field:
            return
        value = value or {}
        raw = value.get(self.cursor_field)
        self._state_cache = None
        self._look_back = LookBack(self.cursor_field, self.record_key, parse_look_back(value.get("look_back")) if raw else {})
        self._load_state_extras(value)
        if raw in (None, ""):
            self._state_value = None
            return
        try:
            self._state_value = parse_state_value(raw)
        except ValueError:
            raise self._bad_state(self.cursor_field, raw, "a datetime") from None
        self._look_back.before = self._state_value.isoformat()

    @property
    def state_value(self) -> Optional[dt.datetime]:
        return self._state_value

    def now(self) -> dt.datetime:
        """Halo's present, for this stream's read range. Whether it was known then decides how the state
        moves (_advance_state), for the whole read."""
        now = self.context.clock()  # type: ignore[misc]
        self._in_halo_time = self.context.clock_known
        return now

    def _advance_state(self, end: dt.datetime) -> None:
        if not self._in_halo_time:
            # Halo's clock unknown (clock.py): never past the newest cursor value read, which Halo wrote.
            newest = self._look_back.newest
            try:
                seen = parse_state_value(newest) if newest else None
            except ValueError:
                seen = None
            if seen is None or seen < end:
                end = seen if seen is not None else (self._state_value or end)
                if self._state_value is None and newest is None:
                    return  # nothing read yet: no state rather than a guess
        if self._state_value is None or end > self._state_value:
            self._state_value = end
            self._look_back.moved_to(end)
        self._state_cache = None

    # ---- reading ----
    def begin(self, sync_mode: SyncMode) -> Optional[StreamReader]:
        """Starts planning and fetching (idempotent). The source begins every selected stream at the
        start of a read, so streams behind the one being emitted use idle workers."""
        if self._reader is None and not self._nothing_to_read(sync_mode):
            config = self.context.config
            query = StreamQuery(
                name=self.name,
                parts=self.parts,
                plan=lambda reader: self.plan(reader, sync_mode),
                get_page=self.get_page,
                page_size=config.page_size if self.endpoint.paged else 0,
                holds=self.holds,
            )
            self._reader = StreamReader(query, self.context.scheduler, self.rank, self.logger).start()
        return self._reader

    def _nothing_to_read(self, sync_mode: SyncMode) -> bool:
        return False

    def stream_slices(self, sync_mode: SyncMode, cursor_field: Optional[List[str]] = None, stream_state: Optional[Mapping[str, Any]] = None) -> Iterable[Optional[Mapping[str, Any]]]:
        reader = self.begin(sync_mode)
        if reader is None:
            yield {"window": -1}
            return
        try:
            for job in reader.jobs():
                self._jobs[job.index] = job
                yield {"window": job.index, **(job.window.as_slice() if job.window else {})}
        finally:
            reader.cancel()
        self.logger.info(self._summary(reader))

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: Optional[List[str]] = None,
        stream_slice: Optional[Mapping[str, Any]] = None,
        stream_state: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Any]:
        index = (stream_slice or {}).get("window", -1)
        if index < 0 or self._reader is None:
            return
        job = self._jobs.pop(index)
        estimate = self._estimate(index)
        if estimate is not None:
            yield estimate
        stats = PartStats()
        count = 0
        batches = self.context.batch_records
        look_back = self._look_back
        skip = self.skips_look_back_repeats and job.window is not None
        band = (job.state_after - LOOKBACK).isoformat() if self.skips_look_back_repeats and isinstance(job.state_after, dt.datetime) else None
        finish = self._job_rows(job)
        from_newest = band is not None and not self._in_halo_time
        try:
            for rows in self._reader.records(job, stats):
                if skip:
                    rows = look_back.skip_delivered(rows)
                if finish is not None:
                    rows = finish(rows)
                else:
                    if self.cursor_field:
                        look_back.track(rows, band, from_newest)
                    if self._on_rows is not None:
                        self._on_rows(rows)
                if not rows:
                    continue
                count += len(rows)
                if batches:
                    yield AirbyteMessage(type=Type.RECORD, record=RecordBatch(self.name, rows, time.time_ns() // 1_000_000))
                else:
                    yield from rows
        except BaseException:
            self._reader.cancel()
            raise
        self._windows += job.window is not None
        self._records += count
        self._sequential_rereads += stats.sequential
        if job.window is not None and not count and not stats.sequential:
            self._empty_windows += 1
        elif job.window is not None:
            self.logger.info(
                f"Stream '{self.name}': window {job.window}: {stats.pages} pages, {count} records"
                + (", read again page by page after rows changed while it was read" if stats.sequential else "")
                + "."
            )
        if job.state_after is not None and self.cursor_field:
            self._advance_state(job.state_after)
        if job.after is not None:
            job.after()
            self._state_cache = None

    def _job_rows(self, job: Any) -> Optional[Callable[[List[Dict[str, Any]]], List[Dict[str, Any]]]]:
        """What turns a job's rows into records when they are not the stream's ordinary rows (the
        deleted tickets of a ticket stream)."""
        return None

    def _estimate(self, index: int) -> Optional[AirbyteMessage]:
        return None

    def _summary(self, reader: StreamReader) -> str:
        windows = f" in {self._windows} window{'s' if self._windows != 1 else ''}" if isinstance(self, CursorStream) else ""
        state = f"; state {self.state.get(self.cursor_field)}" if self.cursor_field else ""
        summary = (
            f"Stream '{self.name}': done: {self._records} records{windows}, {reader.requests} request"
            f"{'s' if reader.requests != 1 else ''}, {time.monotonic() - reader.started:.1f} s{state}."
        )
        if self.skips_look_back_repeats and self._look_back.before is not None:
            summary += (
                f" Look-back ({int(LOOKBACK.total_seconds() // 60)} min before the saved state): {self._look_back.skipped} "
                f"record(s) the previous sync emitted were not sent again; {self._look_back.again} record(s) there "
                "changed since or showed up late, and were sent."
            )
        if self._empty_windows:
            summary += (
                f" {self._empty_windows} window(s) held no records (nothing in Halo falls in their time range); they "
                "are not logged one by one."
            )
        return summary


class CursorStream(HaloStream):
    """A stream read in windows of `cursor_field` (`windows.py`): incremental from the saved state,
    full refresh from start_date. The state is the end of the last window fully emitted; it only
    moves forward."""

    cursor_field = "last_update"
    state_checkpoint_interval = None
    skips_look_back_repeats = True

    def _read_range(self, sync_mode: SyncMode) -> Tuple[dt.datetime, dt.datetime, bool]:
        if self._range is None:
            now = self.now()
            cfg = self.context.config
            if sync_mode == SyncMode.incremental and self._state_value is not None:
                lower = self._state_value - LOOKBACK
                if cfg.start_date and lower < cfg.start_date:
                    lower = cfg.start_date
                self._range = (lower, now, False)
            else:
                upper = now if sync_mode == SyncMode.incremental or not cfg.end_exclusive else min(now, cfg.end_exclusive)
                self._range = (cfg.start_date, upper, False) if cfg.start_date else (HISTORY_FLOOR, upper, True)
        return self._range

    def _nothing_to_read(self, sync_mode: SyncMode) -> bool:
        lower, upper, _ = self._read_range(sync_mode)
        if lower >= upper:
            self.logger.info(f"Stream '{self.name}': nothing to read, the state ({self.state}) is at or after {upper.isoformat()}.")
            return True
        return False

    def plan(self, reader: StreamReader, sync_mode: SyncMode) -> Iterable[Planned]:
        lower, upper, open_start = self._read_range(sync_mode)
        self._planner = WindowPlanner(
            lower, upper, self.context.config.page_size * WINDOW_TARGET_PAGES, reader.probe, open_start=open_start, cursor=self.cursor_field
        )
        self.logger.info(
            f"Stream '{self.name}': reading {self.cursor_field} from {'the beginning' if open_start else lower.isoformat()} "
            f"to {upper.isoformat()} ({sync_mode.value}), {self.context.scheduler.workers} requests at once."
        )
        return (Planned(window, probe, window.end) for window, probe in self._planner.plan())

    def holds(self, window: Optional[Window]) -> Optional[Callable[[Mapping[str, Any]], bool]]:
        if window is None:
            return None
        cursor, holds = self.cursor_field, window.holds
        return lambda row: holds(row.get(cursor))

    def _estimate(self, index: int) -> Optional[AirbyteMessage]:
        planner = getattr(self, "_planner", None)
        if index != 0 or planner is None or planner.total_estimate is None:
            return None
        return AirbyteMessage(
            type=Type.TRACE,
            trace=AirbyteTraceMessage(
                type=TraceType.ESTIMATE,
                emitted_at=time.time() * 1000,
                estimate=AirbyteEstimateTraceMessage(name=self.name, type=EstimateType.STREAM, row_estimate=planner.total_estimate),
            ),
        )

    def _summary(self, reader: StreamReader) -> str:
        planner = getattr(self, "_planner", None)
        split = planner.rejected if planner else 0
        return super()._summary(reader) + (
            f" Planning: {split} trial window(s) held more than {int(planner.target * planner.TOLERANCE)} records (a window "
            f"aims at {planner.target}, {WINDOW_TARGET_PAGES} pages) and were cut into smaller ones before being read; "
            "normal when tickets are unevenly spread over time, it cost one request per part of each." if split else ""
        ) + (f" {self._sequential_rereads} window part(s) were read again page by page because tickets changed meanwhile." if self._sequential_rereads else "")


class ReferenceStream(HaloStream):
    """A reference list (statuses, agents, ...): read whole on every sync, inactive rows included."""


class ReferenceCursorStream(ReferenceStream):
    """A reference list Halo filters by its last-update field (`lastupdatefromdate`/`lastupdatetodate`,
    docs/halo-api.md 6). A full refresh and a first incremental read ask for everything, without a
    date filter (a row Halo never updated may have no date); a later incremental read asks for what
    changed since the state (minus the look-back) up to the start of the read, in one query: these
    lists are small, so they are not split into windows. The state is the start of the last read."""

    state_checkpoint_interval = None
    skips_look_back_repeats = True

    def _nothing_to_read(self, sync_mode: SyncMode) -> bool:
        if sync_mode == SyncMode.incremental and self._state_value is not None and self._state_value >= self.now():
            self.logger.info(f"Stream '{self.name}': nothing to read, the state ({self.state}) is in the future.")
            return True
        return False

    def plan(self, reader: StreamReader, sync_mode: SyncMode) -> Iterable[Planned]:
        upper = self.now()
        if sync_mode == SyncMode.incremental and self._state_value is not None:
            window: Optional[Window] = Window(self._state_value - LOOKBACK, upper)
        else:
            window = None
        yield Planned(window, reader.probe(window), upper)

    def holds(self, window: Optional[Window]) -> Optional[Callable[[Mapping[str, Any]], bool]]:
        return CursorStream.holds(self, window)


class TicketsStream(CursorStream):
    """GET /api/Tickets, or the tickets of one ticket type (a `ticket_types` entry), with the custom
    fields the `custom_fields` setting names as `cf_<name>` columns."""

    endpoint = endpoints.TICKETS
    parts = STATUS_PARTS
    # An explicit, stable order: Halo's default is not by id (docs/halo-api.md, 2.2).
    params = {"order": "id", "orderdesc": "false"}
    datetime_fields = DATETIME_FIELDS
    integer_fields = INTEGER_FIELDS
    reports_deletions = True

    def __init__(self, context: ReadContext, rank: int = 0, entry: Optional[TicketTypeStream] = None):
        self.entry = entry
        self._name = entry.name if entry else DEFAULT_STREAM_NAME
        self.fields = entry.fields if entry else None
        self._schema: Optional[Mapping[str, Any]] = None
        self._flatten = Flattener(context.custom_fields)
        self._detail_lock = threading.Lock()
        self.detail_requests = 0  # GET /api/Tickets/{id} for custom fields Halo left out of the list
        self._deleted_now: Optional[FrozenSet[int]] = None  # this read's listing
        self._emitted_ids = IdSet()  # a first or full read's ids, until its deletions are reported
        self._only_emitted = False
        self._deletion_stamp = ""  # when this read found the tickets deleted (their records' _ab_cdc_deleted_at)
        super().__init__(context, rank)

    @property
    def name(self) -> str:
        return self._name

    @property
    def type_id(self) -> Optional[int]:
        if self.entry is None:
            return None
        return self.entry.type_id or self.context.ticket_type_ids.get(self.name)

    # ---- deletions (deletions.py): every read ends with the tickets deleted since the state ----
    def plan(self, reader: StreamReader, sync_mode: SyncMode) -> Iterable[Planned]:
        self._only_emitted = sync_mode == SyncMode.full_refresh or (self._deleted_known is None and self._state_value is None)
        if self._only_emitted:
            # A full refresh or a first sync: report only the tickets this read emitted live and that
            # were deleted before its listing, not every ticket ever deleted; the listing goes into the
            # state for the next sync. (A state without `deleted_ids`, from an older version, gets every
            # deleted ticket reported, once.)
            emitted = self._emitted_ids = IdSet()
            self._on_rows = lambda rows: emitted.update([row.get("id") for row in rows])
        yield from super().plan(reader, sync_mode)
        yield self._deletions(reader, sync_mode)

    def _deletions(self, reader: StreamReader, sync_mode: SyncMode) -> Planned:
        listed = self.context.deleted.entries(reader.call_later)  # type: ignore[union-attr]
        type_id = self.type_id
        mine = [ticket_id for ticket_id, ticket_type in listed if type_id is None or ticket_type == type_id]
        self._deleted_now = frozenset(mine)
        known = self._deleted_known or frozenset()
        upper = self._read_range(sync_mode)[1]
        self._deletion_stamp = (upper if self._in_halo_time else datetimes.utc_now()).isoformat()
        # The job carries ids; each record is made from the listed row as it is emitted (_job_rows).
        ids = [{"id": ticket_id} for ticket_id in mine if ticket_id not in known]
        page = Page(ids, len(ids), 1, max(1, len(ids)), key=self.record_key)
        return Planned(None, Probe([page], [DELETION_JOB]), None, after=self._deletions_reported)

    def _deletion_records(self, ids: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """The listed rows of these deleted tickets as records: normalised as any row, `last_update` at
        least when the sync found them deleted, and `_ab_cdc_deleted_at` set."""
        rows = self.context.deleted.rows_for(entry["id"] for entry in ids)  # type: ignore[union-attr]
        return [mark_deleted(self._record(row), self.cursor_field, self._deletion_stamp) for row in rows]

    def _job_rows(self, job: Any) -> Optional[Callable[[List[Dict[str, Any]]], List[Dict[str, Any]]]]:
        if not (job.parts and job.parts[0].part is DELETION_JOB):
            return None
        if not self._only_emitted:
            return self._deletion_records
        emitted = self._emitted_ids  # complete now: every window before this job is out
        return lambda ids: self._deletion_records([entry for entry in ids if entry["id"] in emitted])

    def _deletions_reported(self) -> None:
        known, listed = self._deleted_known, self._deleted_now or frozenset()
        emitted = self._emitted_ids
        self.deletions_reported += sum(1 for i in listed if i in emitted) if self._only_emitted else len(listed - (known or frozenset()))
        self._deleted_known = listed
        self._on_rows = None
        self._emitted_ids = IdSet()

    def keep_fields(self) -> Optional[Sequence[str]]:
        if not self.fields:
            return None
        extra = ("customfields",) + tuple(f.column for f in self.context.custom_fields) if self.context.custom_fields else ()
        return tuple(self.fields) + extra

    def get_json_schema(self) -> Mapping[str, Any]:
        if self._schema is None:  # the CDK asks for it once per record
            self._schema = redaction.schema(ticket_schema(self.fields, self.context.custom_fields), self)
        return self._schema

    def request_params(self, window: Optional[Window], part: Mapping[str, str], page_no: int, page_size: int) -> Dict[str, Any]:
        params = super().request_params(window, part, page_no, page_size)
        if self.entry is not None:
            if self.type_id is None:
                raise ConfigError(f"The ticket type {self.entry.describe()} of stream '{self.name}' was not resolved.")
            params["requesttype_id"] = self.type_id
        wanted = custom_fields.query_value(self.context.custom_fields)
        if wanted:
            params["include_custom_fields"] = wanted
        return params

    def _complete(self, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        if self.context.custom_fields:
            for row in rows:
                if "customfields" not in row:
                    self._fetch_custom_fields(row)
        return rows

    def _record(self, row: Dict[str, Any]) -> Dict[str, Any]:
        return self._normalize(self._flatten(row) if self.context.custom_fields else row)

    def _fetch_custom_fields(self, row: Dict[str, Any]) -> None:
        """Halo left `customfields` out of a list row although asked for them (an instance that ignores
        `include_custom_fields`): the ticket's own record has them, at one request per such ticket."""
        with self._detail_lock:
            self.detail_requests += 1
            first = self.detail_requests == 1
        if first:
            self.logger.warning(
                f"Stream '{self.name}': Halo did not add the custom fields to the ticket list (include_custom_fields); "
                "reading them from each such ticket instead, one request per ticket (GET /api/Tickets/{id}). The "
                "stream's last log line counts these requests."
            )
        detail = self.context.client.get(f"{endpoints.TICKETS.path}/{row.get('id')}")
        row["customfields"] = detail.get("customfields") if isinstance(detail, dict) else None

    def _summary(self, reader: StreamReader) -> str:
        summary = super()._summary(reader)
        if self._deleted_now is not None:
            summary += f" {self.deletions_reported} ticket(s) newly deleted in Halo reported ({DELETED_AT} set)."
        if self.detail_requests:
            summary += f" {self.detail_requests} request(s) GET /api/Tickets/{{id}} read custom fields Halo left out of the list."
        return summary


# ---- reference streams: each a declaration (docs/halo-api.md 4 and 6 for the shapes) ----


class Statuses(ReferenceStream):
    name = "statuses"
    endpoint = endpoints.STATUSES


class TicketTypes(ReferenceStream):
    name = "ticket_types"
    endpoint = endpoints.TICKET_TYPES


class Priorities(ReferenceStream):
    """One row per SLA and priority: `priorityid` repeats across SLAs, and `id` is a GUID."""

    name = "priorities"
    endpoint = endpoints.PRIORITIES
    primary_key = ["slaid", "priorityid"]


class Slas(ReferenceStream):
    name = "slas"
    endpoint = endpoints.SLAS


class Teams(ReferenceStream):
    name = "teams"
    endpoint = endpoints.TEAMS


class Agents(ReferenceStream):
    name = "agents"
    endpoint = endpoints.AGENTS


class Clients(ReferenceCursorStream):
    name = "clients"
    endpoint = endpoints.CLIENTS
    cursor_field = "alastupdate"


class Sites(ReferenceCursorStream):
    name = "sites"
    endpoint = endpoints.SITES
    cursor_field = "slastupdate"


class Users(ReferenceCursorStream):
    name = "users"
    endpoint = endpoints.USERS
    cursor_field = "ulastupdate"


class Categories(ReferenceStream):
    name = "categories"
    endpoint = endpoints.CATEGORIES


class Outcomes(ReferenceStream):
    name = "outcomes"
    endpoint = endpoints.OUTCOMES


class CustomFieldDefinitions(ReferenceStream):
    name = "custom_field_definitions"
    endpoint = endpoints.FIELD_INFO


class Actions(HaloStream):
    """Every ticket's conversation: notes, emails, status changes, time entries. An action's `id` is
    unique only within its ticket. How it is read (by time for history, by changed ticket for
    incremental syncs) is in actions.py."""

    name = "actions"
    endpoint = endpoints.ACTIONS
    primary_key = ["ticket_id", "id"]
    cursor_field = "datetime"
    state_checkpoint_interval = None
    reports_deletions = True

    def __init__(self, context: ReadContext, rank: int = 0):
        super().__init__(context, rank)
        self.deleting: FrozenSet[int] = frozenset()  # tickets whose actions this read reports deleted
        self.deletion_stamp = ""
        self.deleted_actions = 0
        self._count_lock = threading.Lock()
        self.tickets_seen: Dict[str, str] = {}  # state `look_back`: ticket id -> last_update read (actions.py)
        self.history_to: Optional[dt.datetime] = None  # state `history_to`: the end of a read by time not finished yet

    def _state_extras(self) -> Dict[str, Any]:
        extras = super()._state_extras()
        if self.tickets_seen:
            extras["look_back"] = dict(self.tickets_seen)
        if self.history_to is not None:
            extras["history_to"] = self.history_to.isoformat()
        return extras

    def _load_state_extras(self, value: Mapping[str, Any]) -> None:
        super()._load_state_extras(value)
        self.tickets_seen = parse_look_back(value.get("look_back"))
        raw = value.get("history_to")
        try:
            self.history_to = parse_state_value(raw) if raw else None
        except ValueError:
            raise self._bad_state("history_to", raw, "a datetime") from None

    def request_params(self, window: Optional[Window], part: Mapping[str, str], page_no: int, page_size: int) -> Dict[str, Any]:
        cfg = self.context.config
        params: Dict[str, Any] = {**self.endpoint.page_params(page_no, page_size), **part}
        if window is not None:  # the actions of a date range, on their `datetime`
            params["startdate"] = to_query(window.start.replace(microsecond=0) - ONE_SECOND)  # type: ignore[union-attr]
            params["enddate"] = to_query(ceil_second(window.end))
        if not cfg.actions_include_system:
            params["excludesys"] = "true"
        if not cfg.actions_include_private:
            params["excludeprivate"] = "true"
        if cfg.actions_html:
            params["includehtmlnote"] = params["includehtmlemail"] = "true"
        return params

    def get_page(self, window: Optional[Window], part: Mapping[str, str], page_no: int, page_size: int) -> Page:
        page = super().get_page(window, part, page_no, page_size)
        if "ticket_id" in part:  # a ticket's own list: every row is that ticket's
            ticket = int(part["ticket_id"])
            for row in page.rows:
                row.setdefault("ticket_id", ticket)
            if ticket in self.deleting:  # the actions of a ticket deleted in Halo (deletions.py)
                for row in page.rows:
                    mark_deleted(row, self.cursor_field, self.deletion_stamp)
                with self._count_lock:
                    self.deleted_actions += len(page.rows)
        return page

    def _nothing_to_read(self, sync_mode: SyncMode) -> bool:
        return ReferenceCursorStream._nothing_to_read(self, sync_mode)  # a state in the future

    def plan(self, reader: StreamReader, sync_mode: SyncMode) -> Iterable[Planned]:
        self._plan = ActionsPlan(self, reader, sync_mode == SyncMode.incremental, self.logger)
        return iter(self._plan)

    def holds(self, window: Optional[Window]) -> Optional[Callable[[Mapping[str, Any]], bool]]:
        return CursorStream.holds(self, window)

    def _summary(self, reader: StreamReader) -> str:
        plan = getattr(self, "_plan", None)
        how = f" Read {plan.strategy}; {plan.ticket_requests} request(s) of the ticket list." if plan and plan.strategy else ""
        if plan is not None and plan.gone:
            how += (
                f" {len(plan.gone)} ticket(s) deleted in Halo since the last sync: {self.deleted_actions} of their actions "
                f"reported deleted ({DELETED_AT} set)."
                + ("" if self.deleted_actions else " Halo lists no actions of deleted tickets, so theirs stay in the "
                   "destination; join actions to tickets to leave them out.")
            )
        return super()._summary(reader) + how


REFERENCE_STREAMS = (Statuses, TicketTypes, Priorities, Slas, Teams, Agents, Clients, Sites, Users, Categories, Outcomes, CustomFieldDefinitions)


@functools.lru_cache(maxsize=None)
def load_schema(name: str) -> Mapping[str, Any]:
    return json.loads(pkgutil.get_data("source_haloitsm", f"schemas/{name}.json"))


def typed_fields(schema: Mapping[str, Any], kind: str) -> List[str]:
    """The properties of a schema that are date-times (`kind="date-time"`) or integers."""
    names = []
    for name, prop in schema.get("properties", {}).items():
        types = prop.get("type", [])
        types = types if isinstance(types, list) else [types]
        if (kind == "date-time" and prop.get("format") == "date-time") or (kind == "integer" and "integer" in types):
            names.append(name)
    return names
