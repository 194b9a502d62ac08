"""Delivery accounting for the fault-injection suite: what the connector delivered against the
simulator's ground truth, one row per case, printed as a table at the end of the pytest run
(`pytest_terminal_summary` in integration_tests/conftest.py).

A ticket counts as delivered when at least one of its delivered records carries the ticket's latest
`last_update` (compared as datetimes: the connector emits ISO 8601 UTC with an offset, the truth is
naive UTC), and its latest record does not report it deleted (`_ab_cdc_deleted_at`: a deduplicating
destination would drop it). Records reporting deletions are not counted as deliveries. Duplicates (a
ticket delivered more than once) are counted, never required to be zero: the guarantee is
at-least-once, keyed by `id`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import Any, Dict, Iterable, List, Mapping

UTC = dt.timezone.utc


@dataclasses.dataclass
class Row:
    case: str
    expected: int
    delivered: int
    records: int
    duplicates: int
    lost: int
    reads: int
    note: str = ""


ROWS: List[Row] = []
# Other figures a test wants in the run's output (PyAirbyte counts, the image's read), one line each.
FIGURES: List[str] = []


def parse_emitted(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_truth(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=UTC)


def account(case: str, truth: Mapping[int, Mapping[str, Any]], records: Iterable[Mapping[str, Any]], reads: int,
            note: str = "") -> Row:
    """Compares delivered records with the truth and records a row. Returns the row; `row.lost` is
    the number of truth tickets never delivered with their latest last_update."""
    seen: Dict[Any, set] = defaultdict(set)
    deleted_last = set()  # tickets whose latest record reports a deletion: a destination drops them
    total = 0
    for record in records:
        if record.get("_ab_cdc_deleted_at") is not None:
            deleted_last.add(record["id"])
            continue
        deleted_last.discard(record["id"])
        total += 1
        seen[record["id"]].add(parse_emitted(record["last_update"]))
    lost_ids = [i for i, t in truth.items() if parse_truth(t["last_update"]) not in seen.get(i, ()) or i in deleted_last]
    row = Row(
        case=case,
        expected=len(truth),
        delivered=len(truth) - len(lost_ids),
        records=total,
        duplicates=total - len(seen),
        lost=len(lost_ids),
        reads=reads,
        note=note,
    )
    row.lost_ids = lost_ids[:20]  # type: ignore[attr-defined]
    ROWS.append(row)
    return row


def account_keys(case: str, expected: Iterable[Any], delivered: Iterable[Any], reads: int, note: str = "") -> Row:
    """The same accounting for a list without a cursor (a reference stream): delivered means the row's
    primary key came at least once."""
    expected = set(expected)
    delivered = list(delivered)
    lost = sorted(expected - set(delivered), key=str)
    row = Row(case=case, expected=len(expected), delivered=len(expected) - len(lost), records=len(delivered),
              duplicates=len(delivered) - len(set(delivered)), lost=len(lost), reads=reads, note=note)
    row.lost_ids = lost[:20]  # type: ignore[attr-defined]
    ROWS.append(row)
    return row


def account_actions(case: str, truth: Mapping[Any, Mapping[str, Any]], records: Iterable[Mapping[str, Any]], reads: int,
                    note: str = "") -> Row:
    """Actions, keyed by (ticket_id, id): one counts as delivered when a delivered record carries its
    latest `last_updated` (an edited action must come again with the edit)."""
    seen: Dict[Any, set] = defaultdict(set)
    total = 0
    for record in records:
        total += 1
        value = record.get("last_updated")
        seen[(record["ticket_id"], record["id"])].add(parse_emitted(value) if value else None)
    lost = []
    for key, row in truth.items():
        latest = parse_truth(row["last_updated"]) if row.get("last_updated") else None
        if key not in seen or (latest is not None and latest not in seen[key]):
            lost.append(key)
    row = Row(case=case, expected=len(truth), delivered=len(truth) - len(lost), records=total,
              duplicates=total - len(seen), lost=len(lost), reads=reads, note=note)
    row.lost_ids = lost[:20]  # type: ignore[attr-defined]
    ROWS.append(row)
    return row


def table(rows: List[Row]) -> List[str]:
    headers = ["case", "expected", "delivered", "records", "duplicates", "lost", "reads", "note"]
    cells = [[r.case, r.expected, r.delivered, r.records, r.duplicates, r.lost, r.reads, r.note] for r in rows]
    widths = [max(len(str(x)) for x in [h] + [c[k] for c in cells]) for k, h in enumerate(headers)]

    def line(values):
        return "  ".join(str(v).ljust(w) if k in (0, 7) else str(v).rjust(w) for k, (v, w) in enumerate(zip(values, widths))).rstrip()

    return [line(headers), line(["-" * w for w in widths])] + [line(c) for c in cells]
