"""Halo row -> emitted record, on the hot path (every record passes here once, in a worker thread).

What changes (docs/halo-api.md, 2.5 and 2.6):
- datetimes: Halo sends naive UTC (`2024-06-20T14:45:15.97`); they are emitted as ISO 8601 with an
  explicit offset (`2024-06-20T14:45:15.970000+00:00`), and Halo's "no date" sentinels (any year up to
  1980: `1900-01-01`, `1899-12-30`, `0001-01-01`) as null;
- ids that Halo sends as decimals (`18.0`) in integer fields are emitted as integers.
Every other field, null included, is emitted as Halo sent it.

`normalize_datetime` gives exactly what `datetimes.normalize` gives (which parses with `datetime`),
but takes Halo's usual shape with string operations only: parsing 25 datetimes per ticket with
`datetime` was a third of the connector's time per record (benchmarks/throughput.py). Anything else
(offsets, `Z`, odd digits) goes the slow, exact way. unit_tests/test_records.py checks both agree.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence

from source_haloitsm.datetimes import SENTINEL_MAX_YEAR, normalize

_HALO_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.(\d{1,7}))?")
_SENTINEL_YEAR = f"{SENTINEL_MAX_YEAR:04d}"
_VALID_DAYS: Dict[str, bool] = {}


def _valid_day(day: str) -> bool:
    known = _VALID_DAYS.get(day)
    if known is None:
        try:
            dt.date.fromisoformat(day)
            known = True
        except ValueError:
            known = False
        if len(_VALID_DAYS) < 200_000:
            _VALID_DAYS[day] = known
    return known


def normalize_datetime(value: Any) -> Any:
    if value.__class__ is str:
        match = _HALO_DATETIME.fullmatch(value)
        if match is not None and _valid_day(match.group(1)):
            if value[:4] <= _SENTINEL_YEAR:
                return None
            fraction = match.group(3)
            micro = fraction[:6].ljust(6, "0") if fraction else "000000"
            if micro == "000000":
                return value[:19] + "+00:00"
            return f"{value[:19]}.{micro}+00:00"
    return normalize(value)


class RecordNormalizer:
    """Normalises rows in place (they are the worker's own, freshly parsed) and optionally keeps only
    some fields."""

    def __init__(self, datetime_fields: Iterable[str], integer_fields: Iterable[str], keep: Optional[Sequence[str]] = None):
        self.keep = tuple(keep) if keep else None
        wanted = set(self.keep) if self.keep else None
        self.datetime_fields = tuple(f for f in datetime_fields if wanted is None or f in wanted)
        self.integer_fields = tuple(f for f in integer_fields if wanted is None or f in wanted)

    def __call__(self, row: Dict[str, Any]) -> Dict[str, Any]:
        if self.keep is not None:
            row = {k: row[k] for k in self.keep if k in row}
        for name in self.datetime_fields:
            value = row.get(name)
            if value is not None:
                row[name] = normalize_datetime(value)
        for name in self.integer_fields:
            value = row.get(name)
            if value.__class__ is float and value.is_integer():
                row[name] = int(value)
        return row


Transform = Callable[[Dict[str, Any]], Dict[str, Any]]
