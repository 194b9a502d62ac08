"""Tickets deleted in Halo, propagated the way Airbyte destinations understand them.

Halo lists deleted tickets only when asked with `deleted=true` (docs/halo-api.md 2.3); without it they
silently leave the list, so an incremental sync would never see them go. Whether deleting a ticket
moves its `last_update` is unknown (7.1, question 13), so deletions are not found by date: every sync
of a ticket stream lists the deleted tickets once, after its windows (both status parts, every page:
2 requests while each part holds at most 100 tickets); the ticket streams and `actions` share that
one listing.

Each ticket stream keeps the ids it already reported as deleted in its state (`deleted_ids`, as
ranges: state.py) and emits a record for each newly deleted one: the row Halo lists, with
`_ab_cdc_deleted_at` set to when the sync found it deleted. Destinations that deduplicate
(Incremental | Append + Deduped) drop the row of that `id`; others keep the record, marked. The
record's `last_update` is at least that time too, so a destination that picks the latest record per
`id` by the cursor picks the deletion. A full refresh or a first sync (no `deleted_ids` yet) reports
only the tickets it emitted and that were deleted before the listing, so it leaves only live tickets;
its listing becomes the state's `deleted_ids`.

A ticket restored in Halo leaves the listing, so it is forgotten; deleted again, it is reported again.

Memory: the listing keeps each row as the JSON bytes Halo sent (about a third of a parsed row), and a
row is parsed again only when its deletion record is emitted; what the streams compare are ids.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

import orjson

from source_haloitsm import endpoints
from source_haloitsm.paging import every_list_page

DELETED_AT = "_ab_cdc_deleted_at"
# The deleted tickets, in the two status parts every ticket query uses (docs/halo-api.md 2.1).
DELETED_PARTS = ({"deleted": "true", "open_only": "true"}, {"deleted": "true", "closed_only": "true"})
PAGE_SIZE = 100
# The part of the job that emits a stream's newly deleted tickets (reader.py's jobs carry parts).
DELETION_JOB: Mapping[str, str] = {"deleted": "true"}

# run(fn, *args) -> what fn(*args) returns (a request on the read's workers), e.g. reader.call_later
Run = Callable[..., Any]


def mark_deleted(record: Dict[str, Any], cursor: str, found: str) -> Dict[str, Any]:
    """A record (a deleted ticket, or one of its actions) as a deletion: `_ab_cdc_deleted_at` is when the
    sync found it deleted, and its cursor is at least that late, so the latest record per key is this one."""
    value = record.get(cursor)
    record[cursor] = value if value.__class__ is str and value > found else found
    record[DELETED_AT] = found
    return record


class DeletedTickets:
    """The read's one listing of deleted tickets, made by the first stream that needs it."""

    def __init__(self, get: Callable[[str, Mapping[str, Any]], Any]):
        self._get = get
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._listing: Optional[Dict[Any, Tuple[Any, bytes]]] = None  # id -> (tickettype_id, the row as JSON)
        self.requests = 0

    def entries(self, run: Run) -> List[Tuple[Any, Any]]:
        """(id, tickettype_id) of every deleted ticket, by id; the first call lists them."""
        with self._lock:
            if self._listing is None:
                self._listing = self._list(run)
            return [(ticket_id, kept[0]) for ticket_id, kept in self._listing.items()]

    def rows_for(self, ids: Iterable[Any]) -> List[Dict[str, Any]]:
        """The rows of these deleted tickets as Halo listed them (fresh dicts, the caller's to change)."""
        listing = self._listing or {}
        return [orjson.loads(listing[i][1]) for i in ids if i in listing]

    def _list(self, run: Run) -> Dict[Any, Tuple[Any, bytes]]:
        """Both parts, every page (asked for at once once the first tells record_count). A ticket
        deleted while this is paged may shift one past a page boundary and be missed: it is not in the
        state's `deleted_ids` then, so the next sync reports it."""
        by_id: Dict[Any, Tuple[Any, bytes]] = {}
        for part in DELETED_PARTS:
            params = {"order": "id", "orderdesc": "false", **part}
            for page in every_list_page(run, self._counted_get, endpoints.TICKETS, params, "the deleted tickets", PAGE_SIZE):
                for row in page.rows:
                    if row.get("id") is not None:
                        by_id[row["id"]] = (row.get("tickettype_id"), orjson.dumps(row))
                page.rows = []  # parsed rows go as soon as they are kept as bytes
        return {i: by_id[i] for i in sorted(by_id)}

    def _counted_get(self, path: str, params: Mapping[str, Any]) -> Any:
        with self._count_lock:
            self.requests += 1
        return self._get(path, params)
