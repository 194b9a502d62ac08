"""Halo's datetimes, in one place.

Halo sends datetimes in GET responses as naive UTC, `YYYY-MM-DDTHH:MM:SS[.f...]`, the fraction only
when non-zero (docs/halo-api.md 2.6); POST echoes add 7 fractional digits
and `Z`. "No date" is a sentinel: `1900-01-01T00:00:00`, `1899-12-30T00:00:00` or
`0001-01-01T00:00:00` (docs/halo-api.md 2.5; django-psa treats any year <= 1980 as empty).

The connector emits every datetime as ISO 8601 UTC with an explicit offset
(`2024-05-01T10:20:30.123000+00:00`) and every sentinel as null.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

UTC = dt.timezone.utc

# django-psa (a production sync) treats any year <= 1980 as "no date"; Halo's own sentinels are 1900-01-01,
# 1899-12-30 and 0001-01-01. No ticket timestamp can legitimately predate 1981.
SENTINEL_MAX_YEAR = 1980


def parse_halo_datetime(value: Any) -> Optional[dt.datetime]:
    """Parses a Halo datetime string as an aware UTC datetime; None for empty values and sentinels.

    Raises ValueError for a string that is not a datetime.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a datetime string: {value!r}")
    text = value.strip()
    if not text:
        return None
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1]
        offset = "+00:00"
    else:
        offset = ""
    # fromisoformat accepts at most 6 fractional digits; POST echoes carry 7.
    if "." in text:
        head, frac = text.split(".", 1)
        tz_part = ""
        for sign in ("+", "-"):
            if sign in frac:
                frac, tz_part = frac.split(sign, 1)
                tz_part = sign + tz_part
        text = f"{head}.{frac[:6].ljust(6, '0')}{tz_part}"
    parsed = dt.datetime.fromisoformat(text + offset)
    if parsed.year <= SENTINEL_MAX_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_output(value: Optional[dt.datetime]) -> Optional[str]:
    """ISO 8601 with an explicit UTC offset, microseconds kept when present."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat()


def normalize(value: Any) -> Any:
    """Halo datetime string -> ISO 8601 UTC string with offset (None for sentinels).

    A value that does not parse is returned unchanged: an unexpected format must not drop a record
    (the schema allows any string in a date-time field's place).
    """
    try:
        return to_output(parse_halo_datetime(value))
    except ValueError:
        return value


def to_query(value: dt.datetime) -> str:
    """Format for Halo's date filters (`lastupdatefromdate`, `lastupdatetodate`): UTC with `Z`.

    HaloAPI sends every DateTime parameter as `yyyy-MM-ddTHH:mm:ssZ`; django-psa adds microseconds (docs/halo-api.md 2.3). Whole seconds
    are enough here: windows are bounded on whole seconds.
    """
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_state_value(value: Any) -> dt.datetime:
    """A cursor value from state: ISO 8601 with or without offset (naive means UTC)."""
    parsed = parse_halo_datetime(value)
    if parsed is None:
        raise ValueError(f"not a usable cursor value: {value!r}")
    return parsed


def utc_now() -> dt.datetime:
    """The connector's clock: the upper bound of every read. Tests freeze it by replacing this function."""
    return dt.datetime.now(UTC)


def parse_date(value: str) -> dt.datetime:
    """`YYYY-MM-DD` -> midnight UTC."""
    return dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
