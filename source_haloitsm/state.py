"""What a cursor stream's state holds besides the cursor, and how it moves.

    {"last_update": "2026-11-29T10:55:36+00:00",        # the cursor: every change before it was emitted
     "look_back": {"4711": "2026-11-29T10:53:02.5+00:00"},  # records emitted in the look-back before it
     "deleted_ids": "17,230-232"}                       # ticket streams: tickets known to be deleted

**The look-back without duplicates.** An incremental read starts `LOOKBACK` before the cursor, so a
change Halo shows a little late (a write that commits after a read passed its time) is still read.
Every record the previous read emitted in that stretch would come again: the state keeps their ids
and cursor values, and a record that comes back with the same cursor value is not sent again. A record
whose cursor value differs changed since, and is sent. Both counts are in the stream's last log line.
More than `MAX_LOOK_BACK_IDS` records in the stretch (a bulk update) are not kept: then they are sent
again, as duplicates that the primary key deduplicates.

**Halo's clock unknown** (no `Date` header, clock.py): the cursor moves to the newest cursor value
read, never past it, so it stays in Halo's time whatever the local clock says.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional

# Incremental reads start this long before the saved cursor (streams.py, actions.py).
LOOKBACK = dt.timedelta(minutes=5)
# At most this many records of the look-back are remembered in the state.
MAX_LOOK_BACK_IDS = 2000

Key = Callable[[Mapping[str, Any]], Any]


class LookBack:
    """One read's view of the look-back: the records the previous read emitted there (to skip), and
    the records this read emits near its own cursor (for the next read)."""

    def __init__(self, cursor_field: str, key: Key, previous: Mapping[str, str]):
        self.cursor_field = cursor_field
        self.key = key
        self.previous = dict(previous)
        self.recent: Dict[str, str] = dict(previous)
        self.overflow = False
        self.before: Optional[str] = None  # the previous read's cursor (ISO 8601 text), when there was one
        self.skipped = 0  # emitted by the previous read, unchanged: not sent again
        self.again = 0  # in the look-back and sent: changed since, or shown late by Halo
        self.newest: Optional[str] = None  # the newest cursor value emitted (ISO 8601 text)

    def skip_delivered(self, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        previous, before = self.previous, self.before
        if before is None:
            return rows
        cursor, key = self.cursor_field, self.key
        kept = []
        for row in rows:
            value = row.get(cursor)
            if previous and previous.get(str(_key(key, row))) == value:
                self.skipped += 1
                continue
            if value.__class__ is str and value < before:
                self.again += 1
            kept.append(row)
        return kept

    def track(self, rows: List[Dict[str, Any]], band_start: Optional[str], from_newest: bool = False) -> None:
        """Notes the newest cursor value, and the rows at or after `band_start` (the look-back before the
        cursor this job's end moves the state to; with `from_newest`, the look-back before the newest
        value read, where the state goes when Halo's clock is unknown)."""
        cursor = self.cursor_field
        values = [v for v in (row.get(cursor) for row in rows) if v.__class__ is str]
        if not values:
            return
        top = max(values)
        if self.newest is None or top > self.newest:
            self.newest = top
        if from_newest:
            try:
                band_start = (dt.datetime.fromisoformat(self.newest) - LOOKBACK).isoformat()
            except ValueError:
                band_start = None
        if band_start is None or self.overflow or top < band_start:
            return
        key, recent = self.key, self.recent
        for row in rows:
            value = row.get(cursor)
            if value.__class__ is str and value >= band_start:
                recent[str(_key(key, row))] = value
        if len(recent) > MAX_LOOK_BACK_IDS:
            self.overflow = True
            recent.clear()

    def moved_to(self, cursor: dt.datetime) -> None:
        """The state's cursor moved: forget what lies before its look-back."""
        start = (cursor - LOOKBACK).isoformat()
        self.recent = {k: v for k, v in self.recent.items() if v >= start}

    def state(self) -> Dict[str, str]:
        return {} if self.overflow else dict(self.recent)


def parse_look_back(value: Any) -> Dict[str, str]:
    """The state's `look_back` map; anything else is ignored (it only saves duplicates)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def encode_ids(ids: Iterable[int]) -> str:
    """Sorted ids as ranges: `1-3,7,9-10`."""
    out: List[str] = []
    run: Optional[List[int]] = None
    for i in sorted(set(ids)):
        if run and i == run[1] + 1:
            run[1] = i
            continue
        if run:
            out.append(_run(run))
        run = [i, i]
    if run:
        out.append(_run(run))
    return ",".join(out)


def decode_ids(text: Any) -> FrozenSet[int]:
    """The inverse of encode_ids. Raises ValueError for anything else."""
    if not isinstance(text, str):
        raise ValueError(f"not a list of id ranges: {text!r}")
    ids = set()
    for item in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = item.partition("-")
        first, last = int(low), int(high or low)
        if last < first or last - first > 10_000_000:
            raise ValueError(f"not an id range: {item!r}")
        ids.update(range(first, last + 1))
    return frozenset(ids)


def _run(run: List[int]) -> str:
    return str(run[0]) if run[0] == run[1] else f"{run[0]}-{run[1]}"


def _key(key: Key, row: Mapping[str, Any]) -> Any:
    try:
        return key(row)
    except (KeyError, TypeError):
        return None


class IdSet:
    """A set of ticket ids that stays small however many are added: a bitmap over Halo's integer ids
    (125 KB a million ids; a Python set of 200,000 ints took about 18 MB of peak memory in
    `make bench-memory`). Ids that are not small non-negative integers go to an ordinary set."""

    LIMIT = 1 << 26  # ids up to 67 million: a bitmap of 8 MB at most; larger ones (none seen) go to the set

    def __init__(self) -> None:
        self._bits = bytearray()
        self._other: set = set()

    def update(self, ids: Iterable[Any]) -> None:
        bits = self._bits
        for value in ids:
            if value.__class__ is int and 0 <= value < self.LIMIT:
                index = value >> 3
                if index >= len(bits):
                    bits.extend(bytes(max(index + 1 - len(bits), len(bits))))  # at least doubles
                bits[index] |= 1 << (value & 7)
            else:
                self._other.add(value)

    def __contains__(self, value: Any) -> bool:
        if value.__class__ is int and 0 <= value < self.LIMIT:
            index = value >> 3
            return index < len(self._bits) and bool(self._bits[index] & (1 << (value & 7)))
        return value in self._other
