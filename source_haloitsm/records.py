"""Halo row -> emitted record, on the hot path (every record passes here once, in a worker thread).

What changes (docs/halo-api.md, 2.5 and 2.6):
- datetimes: Halo sends naive UTC (`2024-06-20T14:45:15.97`); they are emitted as ISO 8601 with an
  explicit offset (`2024-06-20T14:45:15.970000+00:00`), and Halo's "no date" sentinels (any year up to
  1980: `1900-01-01`, `1899-12-30`, `0001-01-01`) as null;
- ids that Halo sends as decimals (`18.0`) in integer fields are emitted as integers.
Every other field, null included, is emitted as Halo sent it.

`normalize_datetime` gives exactly what `datetimes.normalize` gives (which parses with `datetime`),
but takes Halo's usual shape with string operations and two small caches of valid days and times:
normalising a ticket's ~28 datetime fields was the largest share of the connector's time per record
(benchmarks/throughput.py). Anything else (offsets, `Z`, odd digits) goes the slow, exact way.
unit_tests/test_records.py checks that both agree.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from source_haloitsm.datetimes import SENTINEL_MAX_YEAR, normalize

_VALID_DAYS: Dict[str, bool] = {}
_VALID_TIMES: Dict[str, bool] = {}
_SENTINEL_YEAR = f"{SENTINEL_MAX_YEAR:04d}"
_SENTINELS = frozenset({"1900-01-01T00:00:00", "0001-01-01T00:00:00", "1899-12-30T00:00:00"})


def _valid_day(day: str) -> bool:
    try:
        valid = day.isascii() and dt.date.fromisoformat(day) is not None and day[4] == "-"
    except ValueError:
        valid = False
    if len(_VALID_DAYS) < 100_000:
        _VALID_DAYS[day] = valid
    return valid


def _valid_time(clock: str) -> bool:
    valid = (
        clock.isascii() and clock[2] == ":" and clock[5] == ":" and clock[:2].isdigit() and clock[3:5].isdigit()
        and clock[6:].isdigit() and int(clock[:2]) < 24 and int(clock[3:5]) < 60 and int(clock[6:]) < 60
    )
    _VALID_TIMES[clock] = valid  # at most 86,400 of them
    return valid


def normalize_datetime(value: Any) -> Any:
    if value.__class__ is str:
        n = len(value)
        if (n == 19 or (20 < n < 28 and value[19] == ".")) and value[10] == "T":
            day, clock = value[:10], value[11:19]
            valid = _VALID_DAYS.get(day)
            if valid is None:
                valid = _valid_day(day)
            if valid:
                valid = _VALID_TIMES.get(clock)
                if valid is None:
                    valid = _valid_time(clock)
            if valid:
                if day[:4] <= _SENTINEL_YEAR:
                    return None
                if n == 19:
                    return value + "+00:00"
                fraction = value[20:]
                if fraction.isdigit() and fraction.isascii():
                    micro = (fraction + "00000")[:6]
                    return value[:19] + ("+00:00" if micro == "000000" else f".{micro}+00:00")
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
        get = row.get
        for name in self.datetime_fields:
            value = get(name)
            if value is not None:
                # A quarter of Halo's datetime values are its "no date" sentinels: a set lookup each.
                row[name] = None if value in _SENTINELS else normalize_datetime(value)
        for name in [f for f in self.integer_fields if get(f).__class__ is float]:
            value = row[name]
            if value.is_integer():
                row[name] = int(value)
        return row


@dataclasses.dataclass
class RecordBatch:
    """The records of one page, carried through the CDK as one RECORD message and written by the
    connector's entry point (run.py) as one RECORD line per record, with the exact record count on the
    next STATE message. The CDK's per-record path (message objects, state observation, counting, its
    serializer) was a third of the connector's time per record (benchmarks/throughput.py). Used only
    under the connector's own entry point; under any other (the CDK's standard tests) records go one by
    one."""

    stream: str
    rows: List[Dict[str, Any]]
    emitted_at: int
    namespace: Optional[str] = None

    @property
    def data(self) -> Dict[str, Any]:  # what code that expects one record sees: the first
        return self.rows[0] if self.rows else {}


Transform = Callable[[Dict[str, Any]], Dict[str, Any]]
