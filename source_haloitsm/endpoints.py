"""Halo's list endpoints as this connector reads them: the path, where the rows are in the answer,
and whether Halo pages it. Each response shape is described here once (docs/halo-api.md, section 6):

- `GET /api/Tickets` answers `{page_no, page_size, record_count, tickets, include_children}`;
  `record_count` is the total of the query, not of the page (2.4).
- `/api/Status`, `/api/TicketType`, `/api/Team`, `/api/Priority`, `/api/SLA`, `/api/FieldInfo`,
  `/api/Outcome` answer a bare JSON array; `/api/Category` is UNKNOWN (a bare array or an object with
  `categories`: both are taken).
- `/api/Agent` answers a bare array, or `{record_count, results}` when `pageinate=true` is sent.
- `/api/Users`, `/api/Client`, `/api/Site` answer `{record_count, <users|clients|sites>}`.
- `/api/Tickets/{id}` answers one ticket object.

Paging, where Halo pages (2.1): `pageinate=true` (Halo's spelling), `page_size` (Halo caps it at 100,
silently) and a 1-based `page_no`.

A 200 whose body is not JSON, is cut off, or lacks the list is not an empty answer: the error handler
(`responses.py`) asks for it again. `Endpoint.rows` is what decides whether a body has the list.
"""
from __future__ import annotations

import dataclasses
from typing import Any, List, Mapping, Optional, Tuple

# Halo's page size cap (2.1). Larger requests are cut to this without a word.
MAX_PAGE_SIZE = 100


class MissingList(ValueError):
    """A 200 whose body does not carry the endpoint's list."""


@dataclasses.dataclass(frozen=True)
class Endpoint:
    path: str  # after /api/, e.g. "Tickets"
    list_key: Optional[str] = None  # None: the answer is a bare JSON array
    paged: bool = False  # Halo pages it (pageinate/page_size/page_no) and counts it in record_count
    params: Tuple[Tuple[str, str], ...] = ()  # sent with every request
    or_key: Optional[str] = None  # a bare array, or an object with the list under this key (shape UNKNOWN)

    def rows(self, body: Any) -> List[Mapping[str, Any]]:
        """The rows of one answer. Raises MissingList when the body is not this endpoint's shape."""
        if self.list_key is None:
            if isinstance(body, list):
                return body
            if self.or_key and isinstance(body, dict) and isinstance(body.get(self.or_key), list):
                return body[self.or_key]
            expected = "a JSON array" + (f" or an object with a '{self.or_key}' list" if self.or_key else "")
            raise MissingList(f"expected {expected}, got {_kind(body)}")
        rows = body.get(self.list_key) if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise MissingList(f"expected an object with a '{self.list_key}' list, got {_kind(body)}")
        if self.paged and not isinstance(body.get("record_count"), (int, float)):
            raise MissingList(f"the object has '{self.list_key}' but no numeric 'record_count'")
        return rows

    def record_count(self, body: Any) -> Optional[int]:
        if self.paged and isinstance(body, dict):
            count = body.get("record_count")
            if isinstance(count, (int, float)):
                return int(count)
        return None

    def page_params(self, page_no: int, page_size: int) -> dict:
        return {"pageinate": "true", "page_size": page_size, "page_no": page_no} if self.paged else {}


def _kind(body: Any) -> str:
    if isinstance(body, dict):
        keys = ", ".join(sorted(body)[:6])
        return f"an object with keys [{keys}]"
    return type(body).__name__


TICKETS = Endpoint("Tickets", list_key="tickets", paged=True)
TICKET = Endpoint("Tickets/{id}")  # one ticket, unwrapped (docs/halo-api.md 3); not a list
TICKET_TYPES = Endpoint("TicketType", params=(("showall", "true"), ("showinactive", "true")))

# Reference lists (docs/halo-api.md 4 and 6). The parameters ask for inactive and disabled rows too:
# a ticket may carry the id of an agent who left or of a closed client's site, and every id a ticket
# carries must resolve.
_ACTIVE_AND_INACTIVE = (("includeinactive", "true"), ("includeactive", "true"))
STATUSES = Endpoint("Status", params=(("showall", "true"),))
PRIORITIES = Endpoint("Priority")
SLAS = Endpoint("SLA")
TEAMS = Endpoint("Team", params=(("includedisabled", "true"), ("includeenabled", "true")))
AGENTS = Endpoint(
    "Agent", list_key="results", paged=True,
    params=(("includedisabled", "true"), ("includeenabled", "true"), ("includeunassigned", "true")),
)
CLIENTS = Endpoint("Client", list_key="clients", paged=True, params=_ACTIVE_AND_INACTIVE)
SITES = Endpoint("Site", list_key="sites", paged=True, params=_ACTIVE_AND_INACTIVE)
USERS = Endpoint("Users", list_key="users", paged=True, params=_ACTIVE_AND_INACTIVE)
CATEGORIES = Endpoint("Category", or_key="categories")
OUTCOMES = Endpoint("Outcome", params=(("showhidden", "true"),))
FIELD_INFO = Endpoint("FieldInfo")
# A ticket's actions (notes, emails, status changes, time entries), or the actions of a date range
# (docs/halo-api.md 6; the range's limits are UNKNOWN: actions.py).
ACTIONS = Endpoint("Actions", list_key="actions", paged=True)

# path (lower case) -> endpoint, for the error handler's body checks.
BY_PATH = {
    e.path.lower(): e
    for e in (TICKETS, TICKET_TYPES, STATUSES, PRIORITIES, SLAS, TEAMS, AGENTS, CLIENTS, SITES, USERS, CATEGORIES, OUTCOMES, FIELD_INFO, ACTIONS)
}
