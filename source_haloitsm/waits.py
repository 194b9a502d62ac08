"""How long the connector waits, and saying so.

Every wait has a cap: `MAX_WAIT_SECONDS`. A longer wait (a `Retry-After` of hours, say) ends the
sync as a transient error instead, so the next sync resumes from the last state rather than the
platform seeing a connector that hangs. Any wait of `ANNOUNCE_AFTER_SECONDS` or more is logged, with
what it waits for, how long and why, and everything printed so far is flushed before it starts.

Halo's rate limit is a rolling 5 minutes (docs/halo-api.md, 5): without `Retry-After`, a 429 waits
30 s, then 60, 120, 240, 300. Users report that 5 s after a 429 is not enough.
"""
from __future__ import annotations

import logging
import os
import random
import sys
import threading
import time
from typing import Callable, List, Optional

# The longest single wait. metadata.yaml's maxSecondsBetweenMessages stays above it.
MAX_WAIT_SECONDS = 600.0
# Waits at least this long are announced in the log before they start.
ANNOUNCE_AFTER_SECONDS = 5.0

RATE_LIMIT_FIRST_WAIT = 30.0
RATE_LIMIT_MAX_WAIT = 300.0
TRANSIENT_FIRST_WAIT = 1.0
TRANSIENT_MAX_WAIT = 60.0

# Development knob: multiplies every back-off wait (tests shrink Halo-sized waits to fractions of a
# second). Users never need it.
BACKOFF_SCALE_ENV = "SOURCE_HALOITSM_BACKOFF_SCALE"

logger = logging.getLogger("airbyte")


def backoff_scale() -> float:
    try:
        return max(0.0, float(os.environ.get(BACKOFF_SCALE_ENV, "1")))
    except ValueError:
        return 1.0


def transient_wait(attempt: int) -> float:
    """Exponential wait with jitter for the n-th retry (1-based) of a 5xx, timeout or bad body."""
    base = min(TRANSIENT_MAX_WAIT, TRANSIENT_FIRST_WAIT * 2 ** max(0, attempt - 1))
    return base * (0.75 + random.random() * 0.5) * backoff_scale()


def rate_limit_wait(attempt: int, retry_after: Optional[float]) -> float:
    if retry_after is not None:
        return retry_after * backoff_scale()
    return min(RATE_LIMIT_MAX_WAIT, RATE_LIMIT_FIRST_WAIT * 2 ** max(0, attempt - 1)) * backoff_scale()


_announce_lock = threading.Lock()
_quiet_until = {}  # what -> monotonic time until which the same wait was already announced


def announce_wait(what: str, seconds: float, why: str) -> bool:
    """Logs a wait of ANNOUNCE_AFTER_SECONDS or more that is about to start (once per kind of wait while
    it lasts) and flushes output. Returns whether the wait was long enough to be announced."""
    if seconds < ANNOUNCE_AFTER_SECONDS:
        return False
    now = time.monotonic()
    with _announce_lock:
        if _quiet_until.get(what, 0.0) > now:
            return True  # another thread already said it is waiting for the same thing
        _quiet_until[what] = now + seconds
    logger.info(f"Waiting {seconds:.0f} s {what}: {why}")
    flush_output()
    return True


# Called by flush_output; the entry point adds its own output buffer (run.Output).
flush_hooks: List[Callable[[], None]] = []


def flush_output() -> None:
    """Pushes everything printed so far (records, state, logs) to the platform."""
    for hook in list(flush_hooks):
        hook()
    for stream in (sys.stdout, sys.__stdout__):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
