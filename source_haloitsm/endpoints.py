"""Halo's list endpoints as this connector reads them: the path, where the rows are in the answer,
and whether Halo pages it. Each response shape is described here once (docs/halo-api.md, section 6):

- `GET /api/Tickets` answers `{page_no, page_size, record_count, tickets, include_children}`;
  `record_count` is the total of the query, not of the page (2.4).
- `/api/Status`, `/api/TicketType`, `/api/Team`, `/api/Priority`, `/api/SLA`, `/api/FieldInfo`
  answer a bare JSON array.
- `/api/Agent` answers a bare array, or `{record_count, results}` when `pageinate=true` is sent.
- `/api/Users`, `/api/Client`, `/api/Site` answer `{record_count, <users|clients|sites>}`.

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

    def rows(self, body: Any) -> List[Mapping[str, Any]]:
        """The rows of one answer. Raises MissingList when the body is not this endpoint's shape."""
        if self.list_key is None:
            if isinstance(body, list):
                return body
            raise MissingList(f"expected a JSON array, got {_kind(body)}")
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
TICKET_TYPES = Endpoint("TicketType", params=(("showall", "true"),))

# path (lower case) -> endpoint, for the error handler's body checks.
BY_PATH = {e.path.lower(): e for e in (TICKETS, TICKET_TYPES)}


def register(endpoint: Endpoint) -> Endpoint:
    """Declares an endpoint a stream reads, so its answers are checked against its shape."""
    BY_PATH[endpoint.path.lower()] = endpoint
    return endpoint
