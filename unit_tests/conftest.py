"""Unit-test helpers: a small Halo answered by requests-mock, and the connector run through its entry point.

The fake follows HALO_API_FACTS.md for what the unit tests need (token form, paging with record_count,
last_update filters, open/closed parts, requesttype_id); the full behaviour, quirks and faults live in
the simulator under integration_tests/.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qs, urlparse

import pytest
import requests_mock as requests_mock_module

from integration_tests.harness import Output, catalog, run_connector  # noqa: F401  (re-exported for the tests)

BASE_URL = "https://acme.haloitsm.com"
TOKEN_URL = f"{BASE_URL}/auth/token"
SECRET = "s3cr3t-client-secret-value"

os.environ.setdefault("SOURCE_HALOITSM_BACKOFF_SCALE", "0.001")


def make_config(**overrides: Any) -> Dict[str, Any]:
    config = {
        "base_url": BASE_URL,
        "tenant": "acme",
        "client_id": "client-id-1",
        "client_secret": SECRET,
        "start_date": "2024-01-01",
        "rate_limit": 6000,
        "parallel_requests": 2,
        "max_retries": 3,
    }
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


def halo_time(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text


def _parse_filter(value: str) -> dt.datetime:
    value = value.rstrip("Z")
    return dt.datetime.fromisoformat(value)


class FakeHalo:
    """Tickets are dicts with at least id, last_update (naive UTC datetime), closed, type."""

    def __init__(self, mocker: requests_mock_module.Mocker, tickets: List[dict], page_cap: int = 100):
        self.mocker = mocker
        self.tickets = tickets
        self.page_cap = page_cap
        self.token_count = 0
        self.expires_in = 3600
        self.ticket_requests: List[dict] = []
        self.request_times: List[float] = []  # every token and ticket request
        self.before_page: Optional[Callable[[dict], Optional[dict]]] = None  # may return a custom response
        mocker.post(re.compile(re.escape(TOKEN_URL)), json=self._token)
        mocker.get(re.compile(re.escape(BASE_URL) + r"/api/Tickets"), text=self._tickets)
        mocker.get(
            re.compile(re.escape(BASE_URL) + r"/api/TicketType"),
            json=[{"id": 1, "name": "Incident"}, {"id": 2, "name": "Service Request"}],
        )

    def _token(self, request, context):
        self.request_times.append(time.monotonic())
        self.token_count += 1
        return {"access_token": f"token-{self.token_count}", "token_type": "Bearer", "expires_in": self.expires_in, "scope": "all"}

    def matching(self, params: Dict[str, str]) -> List[dict]:
        rows = [t for t in self.tickets if not t.get("deleted")]
        if "lastupdatefromdate" in params:
            low = _parse_filter(params["lastupdatefromdate"])
            rows = [t for t in rows if t["last_update"] >= low]
        if "lastupdatetodate" in params:
            high = _parse_filter(params["lastupdatetodate"])
            rows = [t for t in rows if t["last_update"] <= high]
        if params.get("open_only") == "true":
            rows = [t for t in rows if not t.get("closed")]
        if params.get("closed_only") == "true":
            rows = [t for t in rows if t.get("closed")]
        if "requesttype_id" in params:
            rows = [t for t in rows if t.get("type", 1) == int(params["requesttype_id"])]
        return sorted(rows, key=lambda t: t["id"])

    def _tickets(self, request, context):
        params = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        entry = {"params": params, "auth": request.headers.get("Authorization"), "time": time.monotonic()}
        self.request_times.append(entry["time"])
        self.ticket_requests.append(entry)
        if self.before_page:
            custom = self.before_page(entry)
            if custom is not None:
                context.status_code = custom.get("status", 200)
                context.headers.update(custom.get("headers", {}))
                if "text" in custom:
                    return custom["text"]
                return json.dumps(custom.get("json"))
        rows = self.matching(params)
        size = min(int(params.get("page_size", 50)), self.page_cap)
        page_no = int(params.get("page_no", 1))
        page = rows[(page_no - 1) * size : page_no * size]
        return json.dumps({
            "page_no": page_no,
            "page_size": size,
            "record_count": len(rows),
            "tickets": [self.render(t) for t in page],
            "include_children": False,
        })

    @staticmethod
    def render(ticket: dict) -> dict:
        row = {k: v for k, v in ticket.items() if k not in ("closed", "type", "deleted")}
        row["last_update"] = halo_time(ticket["last_update"])
        row.setdefault("summary", f"Ticket {ticket['id']}")
        row.setdefault("dateoccurred", "2023-01-01T00:00:00")
        row.setdefault("targetdate", "1900-01-01T00:00:00")
        row["tickettype_id"] = ticket.get("type", 1)
        return row


def make_tickets(count: int, start: dt.datetime, step: dt.timedelta, closed_every: int = 3) -> List[dict]:
    return [
        {"id": i + 1, "last_update": start + step * i, "closed": (i % closed_every == 0)}
        for i in range(count)
    ]


@pytest.fixture
def fake_halo():
    def build(tickets: List[dict], **kwargs: Any) -> FakeHalo:
        return FakeHalo(mocker, tickets, **kwargs)

    with requests_mock_module.Mocker() as mocker:
        yield build


