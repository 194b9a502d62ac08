"""Request and response builders for Halo's API, for tests that mock it with the CDK's `HttpMocker`.

In the style of Airbyte's `mock_server/request_builder.py` and `response_builder.py`: a test says
which requests Halo must receive and what Halo answers, in Halo's own words::

    with HttpMocker() as http:
        http.post(token_request(cfg).build(), token_response("t-1").build())
        http.get(tickets_request().window(START, NOW).part("open_only").page(1, 100).build(),
                 tickets_page([ticket(1, NOW - DAY)]).record_count(1).build())

`HttpMocker` matches the query string and the form body exactly, so a request the connector sends
differently (another parameter, another token, a body field missing) matches nothing and fails the
read. What the builders expect of Halo's wire format follows docs/halo-api.md (sections 1, 2 and 4):

- token: `POST {base_url}/auth/token[?tenant=T]`, form `grant_type, client_id, client_secret, scope`;
- tickets: `GET {base_url}/api/Tickets` with `pageinate=true, page_size, page_no`, for a stream read
  `order=id, orderdesc=false`, a window `[start, end)` asked as `lastupdatefromdate = start - 1 s`
  and `lastupdatetodate = end` rounded up to the second (`...Z`), one status part
  (`open_only=true` or `closed_only=true`) and, for a ticket_types stream, `requesttype_id`;
- ticket types: `GET {base_url}/api/TicketType?showall=true`, a bare JSON array.

The simulator (integration_tests/halo_simulator) is the other model of Halo; there is no third.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence
from urllib.parse import urlencode

from airbyte_cdk.test.mock_http import HttpRequest, HttpResponse

UTC = dt.timezone.utc
ONE_SECOND = dt.timedelta(seconds=1)
DAY = dt.timedelta(days=1)

BASE_URL = "https://acme.haloitsm.com"
TICKETS_URL = f"{BASE_URL}/api/Tickets"
TICKET_TYPES_URL = f"{BASE_URL}/api/TicketType"
SECRET = "s3cr3t-client-secret-value"
FORM = "application/x-www-form-urlencoded"

# The frozen clock of the mocked reads (tests monkeypatch `source_haloitsm.datetimes.utc_now` to it):
# yesterday at 14:45:15.5 UTC, never a midnight or a whole second, fixed for the whole test run.
NOW = (dt.datetime.now(UTC) - DAY).replace(hour=14, minute=45, second=15, microsecond=500000)
# The configured start_date: midnight, 20 days before NOW.
START = (NOW - 20 * DAY).replace(hour=0, minute=0, second=0, microsecond=0)


def config(**overrides: Any) -> Dict[str, Any]:
    """A connector configuration for the mocked Halo; an override of None removes the setting."""
    settings: Dict[str, Any] = {
        "base_url": BASE_URL,
        "tenant": "acme",
        "client_id": "client-id-1",
        "client_secret": SECRET,
        "start_date": START.strftime("%Y-%m-%d"),
        "rate_limit": 6000,
        "parallel_requests": 2,
        "max_retries": 3,
    }
    settings.update(overrides)
    return {k: v for k, v in settings.items() if v is not None}


# ---------------------------------------------------------------- Halo's formats

def halo_time(value: dt.datetime) -> str:
    """How Halo writes a datetime in a GET answer: naive UTC, the fraction only when not zero."""
    value = value.astimezone(UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text


def query_time(value: dt.datetime) -> str:
    """How the connector writes a date filter: whole seconds, UTC, `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(value: dt.datetime) -> str:
    """The HTTP Date header for an instant (whole seconds, GMT)."""
    return email.utils.format_datetime(value.astimezone(UTC).replace(microsecond=0), usegmt=True)


def ceil_second(value: dt.datetime) -> dt.datetime:
    return value if value.microsecond == 0 else value.replace(microsecond=0) + ONE_SECOND


def ticket(ticket_id: int, last_update: dt.datetime, **fields: Any) -> Dict[str, Any]:
    """One row of Halo's ticket list (the fields a test needs; Halo sends about a hundred)."""
    row: Dict[str, Any] = {
        "id": ticket_id,
        "summary": f"Ticket {ticket_id}",
        "tickettype_id": 1,
        "last_update": halo_time(last_update),
    }
    row.update(fields)
    return row


def tickets(ids: Sequence[int], first_update: dt.datetime, step: dt.timedelta = dt.timedelta(minutes=7), **fields: Any) -> List[Dict[str, Any]]:
    return [ticket(i, first_update + step * n, **fields) for n, i in enumerate(ids)]


# ---------------------------------------------------------------- requests

class TokenRequestBuilder:
    def __init__(self, settings: Mapping[str, Any]):
        self._settings = settings

    def build(self) -> HttpRequest:
        tenant = (self._settings.get("tenant") or "").strip()
        form = urlencode(
            [
                ("grant_type", "client_credentials"),
                ("client_id", self._settings["client_id"]),
                ("client_secret", self._settings["client_secret"]),
                ("scope", self._settings.get("scope") or "all"),
            ]
        )
        return HttpRequest(
            url=f"{self._settings['base_url']}/auth/token",
            query_params={"tenant": tenant} if tenant else None,
            headers={"Content-Type": FORM},
            body=form,
        )


def token_request(settings: Mapping[str, Any]) -> TokenRequestBuilder:
    return TokenRequestBuilder(settings)


class TicketsRequestBuilder:
    def __init__(self, ordered: bool = True):
        self._params: Dict[str, str] = {"pageinate": "true", "page_size": "100", "page_no": "1"}
        if ordered:
            self._params.update({"order": "id", "orderdesc": "false"})
        self._headers: Dict[str, str] = {}

    def window(self, start: Optional[dt.datetime], end: dt.datetime) -> "TicketsRequestBuilder":
        """The window [start, end) of last_update (start None: open to the left)."""
        self._params["lastupdatetodate"] = query_time(ceil_second(end))
        if start is not None:
            self._params["lastupdatefromdate"] = query_time(start.replace(microsecond=0) - ONE_SECOND)
        return self

    def part(self, name: str) -> "TicketsRequestBuilder":
        """`open_only` or `closed_only`."""
        self._params[name] = "true"
        return self

    def page(self, page_no: int, page_size: int) -> "TicketsRequestBuilder":
        self._params.update({"page_no": str(page_no), "page_size": str(page_size)})
        return self

    def type(self, type_id: int) -> "TicketsRequestBuilder":
        self._params["requesttype_id"] = str(type_id)
        return self

    def token(self, access_token: str) -> "TicketsRequestBuilder":
        """Only requests signed with this access token match."""
        self._headers["Authorization"] = f"Bearer {access_token}"
        return self

    def build(self) -> HttpRequest:
        return HttpRequest(url=TICKETS_URL, query_params=dict(self._params), headers=dict(self._headers) or None)


def tickets_request() -> TicketsRequestBuilder:
    """A page of a stream read (explicit order by id)."""
    return TicketsRequestBuilder()


def check_tickets_request() -> TicketsRequestBuilder:
    """What `check` asks: one ticket, nothing else."""
    return TicketsRequestBuilder(ordered=False).page(1, 1)


def ticket_types_request() -> HttpRequest:
    return HttpRequest(url=TICKET_TYPES_URL, query_params={"showall": "true", "showinactive": "true"})


# ---------------------------------------------------------------- responses

class JsonResponseBuilder:
    def __init__(self, body: Any, status: int = 200):
        self._body = body
        self._status = status
        # Halo's clock agrees with the connector's (frozen) one unless a test says otherwise.
        self._headers: Dict[str, str] = {"Content-Type": "application/json; charset=utf-8", "Date": http_date(NOW)}

    def header(self, name: str, value: str) -> "JsonResponseBuilder":
        self._headers[name] = value
        return self

    def without_date(self) -> "JsonResponseBuilder":
        """An answer without the HTTP Date header: Halo's clock is unknown (source_haloitsm/clock.py)."""
        del self._headers["Date"]
        return self

    def build(self) -> HttpResponse:
        return HttpResponse(json.dumps(self._body), self._status, dict(self._headers))


def token_response(access_token: str) -> JsonResponseBuilder:
    """Halo's token answer: a Bearer token valid for an hour."""
    return JsonResponseBuilder({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600, "scope": "all"})


class TicketsPageBuilder(JsonResponseBuilder):
    def __init__(self, rows: Sequence[Mapping[str, Any]]):
        super().__init__({"page_no": 1, "page_size": 100, "record_count": len(rows), "tickets": list(rows), "include_children": False})

    def record_count(self, count: int) -> "TicketsPageBuilder":
        self._body["record_count"] = count
        return self

    def page(self, page_no: int, page_size: int) -> "TicketsPageBuilder":
        self._body.update({"page_no": page_no, "page_size": page_size})
        return self

    def without_tickets(self) -> "TicketsPageBuilder":
        """A 200 that lacks the ticket list (a proxy's or an older Halo's answer)."""
        del self._body["tickets"]
        return self


def tickets_page(rows: Sequence[Mapping[str, Any]]) -> TicketsPageBuilder:
    return TicketsPageBuilder(rows)


def ticket_types_response(types: Mapping[int, str]) -> JsonResponseBuilder:
    return JsonResponseBuilder([{"id": type_id, "name": name, "use": "tickets"} for type_id, name in types.items()])


def oauth_error(status: int, error: str, description: str = "") -> JsonResponseBuilder:
    """OpenIddict's error answer from the token endpoint."""
    body = {"error": error}
    if description:
        body["error_description"] = description
    return JsonResponseBuilder(body, status)


def dotnet_error(status: int, message: str) -> JsonResponseBuilder:
    """Halo's 5xx body: a serialised .NET exception."""
    return JsonResponseBuilder({"ClassName": "System.Exception", "Message": message}, status)


def rate_limited() -> JsonResponseBuilder:
    return JsonResponseBuilder({"error": "Rate Limit Reached - 300 Requests per rolling 5 minute window"}, 429)


def unauthorized() -> HttpResponse:
    """What Halo's API answers to an unknown, expired or used-up token: 401 with an empty body."""
    return HttpResponse("", 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def html_page(status: int = 200, title: str = "Halo - Log in") -> HttpResponse:
    return HttpResponse(f"<!DOCTYPE html><html><head><title>{title}</title></head><body>Please sign in</body></html>", status, {"Content-Type": "text/html; charset=utf-8"})


def text_response(body: str, status: int = 200, content_type: str = "application/json; charset=utf-8") -> HttpResponse:
    return HttpResponse(body, status, {"Content-Type": content_type})


# ---------------------------------------------------------------- whole reads

def number_of_calls(http: Any, request: HttpRequest, most: int = 1000) -> int:
    """How many requests `request` matched (HttpMocker only asserts an exact number)."""
    for count in range(most + 1):
        try:
            http.assert_number_of_calls(request, count)
            return count
        except AssertionError:
            continue
    raise AssertionError(f"{request} matched more than {most} requests")


def mock_window(
    http: Any,
    start: Optional[dt.datetime],
    end: dt.datetime,
    parts: Mapping[str, Sequence[Mapping[str, Any]]],
    page_size: int = 100,
    token: Optional[str] = None,
    type_id: Optional[int] = None,
) -> Dict[str, List[HttpRequest]]:
    """Registers every page of one window: for each part (`open_only`, `closed_only`), its rows in
    pages of `page_size` with the right record_count. Returns the page requests of each part (for
    `http.assert_number_of_calls`)."""
    registered: Dict[str, List[HttpRequest]] = {}
    for part, rows in parts.items():
        registered[part] = []
        pages = max(1, -(-len(rows) // page_size))
        for page_no in range(1, pages + 1):
            builder = tickets_request().window(start, end).part(part).page(page_no, page_size)
            if token:
                builder.token(token)
            if type_id is not None:
                builder.type(type_id)
            request = builder.build()
            chunk = rows[(page_no - 1) * page_size : page_no * page_size]
            http.get(request, tickets_page(chunk).page(page_no, page_size).record_count(len(rows)).build())
            registered[part].append(request)
    mock_deleted(http)  # every read ends with the listing of deleted tickets
    return registered


def mock_deleted(http: Any, rows: Sequence[Mapping[str, Any]] = ()) -> List[HttpRequest]:
    """Registers the read's one listing of deleted tickets (source_haloitsm/deletions.py): the first
    page of each status part, `rows` in the open part. Returns the two requests. Once per mocker
    (mock_window calls it, with no deleted tickets)."""
    if getattr(http, "_deleted_listing", None) is not None:
        return http._deleted_listing
    registered: List[HttpRequest] = []
    http._deleted_listing = registered
    for part, part_rows in (("open_only", list(rows)), ("closed_only", [])):
        request = HttpRequest(url=TICKETS_URL, query_params={
            "pageinate": "true", "page_size": "100", "page_no": "1", "order": "id", "orderdesc": "false", "deleted": "true", part: "true",
        })
        http.get(request, tickets_page(part_rows).record_count(len(part_rows)).build())
        registered.append(request)
    return registered
