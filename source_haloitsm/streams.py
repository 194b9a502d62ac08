"""Ticket streams.

`HaloStream` carries what every Halo list stream needs: the HTTP client with the shared rate budget,
the error mapping and back-off, new tokens on 401 (a config error only while the API never accepted
one), page-size reduction on 502/504 and the checks on the body of a 200. `TicketsStream` adds windows of `last_update`, parallel reading and state.
A `ticket_types` stream is a `TicketsStream` with a `requesttype_id` filter and a field list.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any, Iterable, List, Mapping, MutableMapping, Optional, Sequence

import requests
from airbyte_cdk.models import (
    AirbyteEstimateTraceMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    EstimateType,
    SyncMode,
    TraceType,
    Type,
)
from airbyte_cdk.sources.streams.call_rate import APIBudget
from airbyte_cdk.sources.streams.http import HttpStream

from source_haloitsm.auth import HaloTokenProvider
from source_haloitsm.config import DEFAULT_STREAM_NAME, HaloConfig
from source_haloitsm.datetimes import UTC, parse_state_value
from source_haloitsm.errors import (
    ConfigError,
    HaloBackoffStrategy,
    TransientHaloError,
    halo_error_handler,
    transient_wait,
)
from source_haloitsm.pipeline import WindowPipeline, next_smaller_page_size
from source_haloitsm.schemas import DATETIME_FIELDS, INTEGER_FIELDS, ticket_schema
from source_haloitsm.windows import HISTORY_FLOOR, Page, Window, WindowPlanner, transform_record

# A window aims at this many pages of records.
WINDOW_TARGET_PAGES = 20
# Incremental reads start this long before the saved state, so a clock difference between Halo and
# the machine running the connector cannot hide updates. Costs a few duplicates (the primary key
# deduplicates them).
INCREMENTAL_LOOKBACK = dt.timedelta(minutes=5)


class GatewayError(Exception):
    """Halo's gateway gave up on a page (502/504): the page is too expensive, ask for fewer records."""

    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status


class HaloStream(HttpStream):
    primary_key = "id"

    def __init__(self, config: HaloConfig, authenticator: HaloTokenProvider, budget: APIBudget):
        self._config = config
        self._auth = authenticator
        super().__init__(authenticator=authenticator, api_budget=budget)

    @property
    def url_base(self) -> str:
        return self._config.api_url

    def get_error_handler(self):
        return halo_error_handler(self.logger, self._config.describe_instance(), self._config.max_retries)

    def get_backoff_strategy(self):
        return HaloBackoffStrategy()

    def next_page_token(self, response: requests.Response) -> Optional[Mapping[str, Any]]:
        return None  # paging is done per window by the pipeline

    def parse_response(self, response: requests.Response, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        yield from response.json().get("tickets", [])

    def get_json(self, path: str, params: Mapping[str, Any]) -> Any:
        """GET {api}/{path} through the CDK's HTTP client (rate budget, retries on 429/5xx/network
        errors). Gets a new token on 401 (see below); raises GatewayError on 502/504; retries a 200 whose
        body is not JSON (HTML, cut off) up to max_retries."""
        refreshes = 0
        bad_bodies = 0
        while True:
            request, response = self._http_client.send_request(
                "GET",
                self.url_base + path,
                request_kwargs={"timeout": self._config.request_timeout},
                params=dict(params),
            )
            token = HaloTokenProvider.token_of(request)
            if response.status_code == 401:
                # Rejected again after a refresh, and the API never accepted any token: the token endpoint
                # and the API disagree. Once the API has accepted tokens, a rejected one was used up or
                # revoked meanwhile (parallel workers share it): get another, within max_retries.
                if refreshes and not self._auth.api_accepted_a_token:
                    raise ConfigError(
                        f"Halo's API rejected a freshly issued access token (401) on {self._config.describe_instance()}. "
                        "The token endpoint and the API disagree: check that 'tenant' and 'base_url' name the same Halo "
                        "instance, and that the API application is active."
                    )
                if refreshes > self._config.max_retries:
                    raise TransientHaloError(
                        f"Halo's API kept rejecting access tokens (401) on {self._config.describe_instance()} after "
                        f"{refreshes} new tokens. The sync stopped; the next sync resumes from its last state."
                    )
                self._auth.invalidate(token)
                refreshes += 1
                continue
            if response.ok:
                self._auth.api_accepted_a_token = True
            if response.status_code in (502, 504):
                raise GatewayError(response.status_code)
            try:
                return response.json()
            except ValueError:
                bad_bodies += 1
                if bad_bodies > self._config.max_retries:
                    raise TransientHaloError(
                        f"Halo answered {path} with a body that is not JSON ({_describe_body(response)}) "
                        f"{bad_bodies} times. The sync stopped; the next sync resumes from its last state.",
                    )
                wait = transient_wait(bad_bodies)
                self.logger.warning(f"Halo answered {path} with an unreadable body ({_describe_body(response)}); retrying in {wait:.1f} s.")
                time.sleep(wait)


def _describe_body(response: requests.Response) -> str:
    kind = response.headers.get("Content-Type", "unknown type")
    return f"HTTP {response.status_code}, {kind}, {len(response.content)} bytes"


class TicketsStream(HaloStream):
    cursor_field = "last_update"
    state_checkpoint_interval = None

    def __init__(
        self,
        config: HaloConfig,
        authenticator: HaloTokenProvider,
        budget: APIBudget,
        name: str = DEFAULT_STREAM_NAME,
        type_id: Optional[int] = None,
        fields: Optional[Sequence[str]] = None,
    ):
        self._name = name
        self.type_id = type_id
        self.fields = tuple(fields) if fields else None
        self._schema: Optional[Mapping[str, Any]] = None
        super().__init__(config, authenticator, budget)
        self._state_value: Optional[dt.datetime] = None
        self._pipeline: Optional[WindowPipeline] = None
        self._jobs: dict = {}
        self.requests_sent = 0

    @property
    def name(self) -> str:
        return self._name

    def path(self, **kwargs: Any) -> str:
        return "Tickets"

    def get_json_schema(self) -> Mapping[str, Any]:
        # The CDK asks for the schema once per record: build it once.
        if self._schema is None:
            self._schema = ticket_schema(self.fields)
        return self._schema

    # ---- state: the end of the last window fully emitted; it only moves forward ----
    @property
    def state(self) -> MutableMapping[str, Any]:
        return {self.cursor_field: self._state_value.isoformat()} if self._state_value else {}

    @state.setter
    def state(self, value: Mapping[str, Any]) -> None:
        raw = (value or {}).get(self.cursor_field)
        if raw in (None, ""):
            self._state_value = None
            return
        try:
            self._state_value = parse_state_value(raw)
        except ValueError:
            raise ConfigError(
                f"The saved state of stream '{self.name}' has last_update={raw!r}, which is not a datetime. "
                "Reset the stream's data in Airbyte to start again from start_date."
            ) from None

    def _advance_state(self, end: dt.datetime) -> None:
        if self._state_value is None or end > self._state_value:
            self._state_value = end

    # ---- requests ----
    def _params(self, window: Window, part: Mapping[str, str], page_no: int, page_size: int) -> dict:
        params = {
            "pageinate": "true",
            "page_size": page_size,
            "page_no": page_no,
            # An explicit, stable order: Halo's default is not by id (HALO_API_FACTS.md 2.2, 8).
            "order": "id",
            "orderdesc": "false",
            **window.query(),
            **part,
        }
        if self.type_id is not None:
            params["requesttype_id"] = self.type_id
        return params

    def fetch_page(self, window: Window, part: Mapping[str, str], page_no: int, page_size: int) -> Page:
        gateway_failures = 0
        while True:
            try:
                self.requests_sent += 1
                body = self.get_json(self.path(), self._params(window, part, page_no, page_size))
            except GatewayError as exc:
                gateway_failures += 1
                if gateway_failures > self._config.max_retries:
                    raise TransientHaloError(
                        f"Stream '{self.name}': Halo kept failing ({exc}) on window {window} even with page_size "
                        f"{page_size}. The sync stopped; the next sync resumes from its last state."
                    )
                position = (page_no - 1) * page_size
                smaller = next_smaller_page_size(position, page_size) if page_size > 1 else 1
                wait = transient_wait(gateway_failures)
                self.logger.warning(
                    f"Stream '{self.name}': Halo answered {exc} for page {page_no} of window {window}; "
                    f"retrying in {wait:.1f} s with page_size {smaller}."
                )
                page_no, page_size = position // smaller + 1, smaller
                time.sleep(wait)
                continue
            tickets = body.get("tickets") if isinstance(body, dict) else None
            record_count = body.get("record_count") if isinstance(body, dict) else None
            if not isinstance(tickets, list) or not isinstance(record_count, (int, float)):
                gateway_failures += 1
                if gateway_failures > self._config.max_retries:
                    raise TransientHaloError(
                        f"Stream '{self.name}': Halo's answer for window {window} has no 'tickets' list or no "
                        "'record_count'. The sync stopped; the next sync resumes from its last state."
                    )
                time.sleep(transient_wait(gateway_failures))
                continue
            return Page(tickets=tickets, record_count=int(record_count), page_no=page_no, page_size=page_size)

    # ---- windows ----
    def _range(self, sync_mode: SyncMode) -> tuple:
        now = dt.datetime.now(UTC)
        cfg = self._config
        if sync_mode == SyncMode.incremental and self._state_value is not None:
            lower = self._state_value - INCREMENTAL_LOOKBACK
            if cfg.start_date and lower < cfg.start_date:
                lower = cfg.start_date
            return lower, now, False
        upper = now if sync_mode == SyncMode.incremental or not cfg.end_exclusive else min(now, cfg.end_exclusive)
        if cfg.start_date:
            return cfg.start_date, upper, False
        return HISTORY_FLOOR, upper, True

    def stream_slices(self, sync_mode: SyncMode, cursor_field: Optional[List[str]] = None, stream_state: Optional[Mapping[str, Any]] = None) -> Iterable[Optional[Mapping[str, Any]]]:
        lower, upper, open_start = self._range(sync_mode)
        started = time.monotonic()
        if lower >= upper:
            self.logger.info(f"Stream '{self.name}': nothing to read, the state ({self.state}) is at or after {upper.isoformat()}.")
            yield {"window": -1, "start": lower.isoformat(), "end": upper.isoformat()}
            return
        planner = WindowPlanner(
            lower,
            upper,
            target_records=self._config.page_size * WINDOW_TARGET_PAGES,
            probe=lambda window, part: self.fetch_page(window, part, 1, self._config.page_size),
            open_start=open_start,
        )
        self._pipeline = WindowPipeline(
            planner,
            self.fetch_page,
            self._transform,
            self._config.parallel_requests,
            self.logger,
            self.name,
        )
        self.logger.info(
            f"Stream '{self.name}': reading last_update from {'the beginning' if open_start else lower.isoformat()} "
            f"to {upper.isoformat()} ({sync_mode.value}), {self._config.parallel_requests} windows at once."
        )
        self._pipeline.start()
        windows = 0
        try:
            for job in self._pipeline.jobs():
                self._jobs[job.index] = job
                windows += 1
                yield job.window.as_slice(job.index)
        finally:
            self._pipeline.cancel()
        self.logger.info(
            f"Stream '{self.name}': done: {windows} windows, {self.requests_sent} ticket requests, "
            f"{planner.rejected} window re-plans, {time.monotonic() - started:.1f} s; state {self.state}."
        )

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: Optional[List[str]] = None,
        stream_slice: Optional[Mapping[str, Any]] = None,
        stream_state: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Any]:
        index = (stream_slice or {}).get("window", -1)
        if index < 0 or self._pipeline is None:
            return
        job = self._jobs.pop(index)
        if index == 0 and self._pipeline.planner.total_estimate is not None:
            yield _estimate(self.name, self._pipeline.planner.total_estimate)
        count = 0
        for record in self._pipeline.records(job):
            count += 1
            yield record
        stats = job.stats
        self.logger.info(
            f"Stream '{self.name}': window {job.window}: {stats.pages if stats else '?'} pages, {count} records"
            + (f", {stats.passes - len(self._pipeline.planner.parts)} re-reads after changes" if stats and stats.passes > len(self._pipeline.planner.parts) else "")
            + "."
        )
        self._advance_state(job.window.end)

    def _transform(self, record: Mapping[str, Any]) -> Mapping[str, Any]:
        return transform_record(record, DATETIME_FIELDS, INTEGER_FIELDS, keep=self.fields)


def _estimate(stream: str, rows: int) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.TRACE,
        trace=AirbyteTraceMessage(
            type=TraceType.ESTIMATE,
            emitted_at=time.time() * 1000,
            estimate=AirbyteEstimateTraceMessage(name=stream, type=EstimateType.STREAM, row_estimate=rows),
        ),
    )
