"""Halo's clock, as this connector sees it.

Every incremental read ends at "now" and saves it as the state; the next read starts there (minus the
look-back). "Now" must be Halo's: its `last_update` values come from Halo's clock. Measured against
the connector machine's clock, a Halo running 20 minutes behind would stamp the changes made after a
sync earlier than the state that sync saved, and the next sync would never read them; a Halo running
ahead would have its latest changes wait a sync (docs/halo-api.md 8).

Halo's clock is read from the HTTP `Date` header of its answers (RFC 9110 6.6.1: a server with a clock
sends it; Halo's IIS does). The header has whole seconds, so "now" is the header's second plus one
second, carried forward by the local clock from the moment the answer arrived. A difference under
`AGREE_SECONDS` is the header's rounding and the network, not a clock difference: the local clock is
used as it is (the look-back covers seconds).

When no answer carries a `Date` header, Halo's clock is unknown: a read then goes up to the local
clock plus `MAX_SKEW` (so a Halo up to an hour ahead is read to its own present), and a stream's state
moves only as far as the newest cursor value it read (a value Halo's own clock wrote, so never past
Halo's present), never to the end of the read (streams.py).
"""
from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
from typing import Callable, Optional

from source_haloitsm import datetimes

# Clock differences the connector is built and tested for (the fault suite's -60..+60 minute rows).
MAX_SKEW = dt.timedelta(hours=1)
# Differences below this are the Date header's rounding (whole seconds) and the network's delay.
AGREE_SECONDS = 2.0

logger = logging.getLogger("airbyte")


def parse_http_date(value: Optional[str]) -> Optional[dt.datetime]:
    """`Sun, 29 Nov 2026 10:55:35 GMT` -> aware UTC datetime; None when missing or unreadable."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetimes.UTC)
    return parsed.astimezone(datetimes.UTC)


class HaloClock:
    """Halo's "now": the local clock plus the offset the latest `Date` header showed."""

    def __init__(self, local: Optional[Callable[[], dt.datetime]] = None):
        self._local = local or (lambda: datetimes.utc_now())  # looked up at each call: tests freeze it
        self._lock = threading.Lock()
        self._offset: Optional[dt.timedelta] = None
        self._said: Optional[dt.timedelta] = None

    @property
    def known(self) -> bool:
        return self._offset is not None

    @property
    def offset(self) -> Optional[dt.timedelta]:
        """Halo's clock minus the local one (zero when they agree within AGREE_SECONDS); None: unknown."""
        return self._offset

    def observe(self, date_header: Optional[str]) -> None:
        """An answer arrived with this `Date` header (or none)."""
        stamp = parse_http_date(date_header)
        if stamp is None:
            return
        difference = stamp + dt.timedelta(seconds=1) - self._local()
        offset = dt.timedelta(0) if abs(difference.total_seconds()) < AGREE_SECONDS else difference
        with self._lock:
            self._offset = offset
            said = self._said
            if offset and (said is None or abs((offset - said).total_seconds()) >= 60):
                self._said = offset
            else:
                return
        logger.info(
            f"Halo's clock is {describe(offset)} {'ahead of' if offset > dt.timedelta(0) else 'behind'} this machine's "
            "(HTTP Date header): reads go up to Halo's present, and the state is kept in Halo's time."
        )

    def now(self) -> dt.datetime:
        """Halo's present when known; else the local clock plus MAX_SKEW (see the module docstring)."""
        offset = self._offset
        return self._local() + (MAX_SKEW if offset is None else offset)


def describe(delta: dt.timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
