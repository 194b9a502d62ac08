"""One request budget for the whole connector: never more than `rate_limit` requests (token requests
included) in any rolling 60 seconds, across every stream and worker thread.

Halo-hosted answers 429 past "300 Requests per rolling 5 minute window" (docs/halo-api.md, 5),
shared by every integration of the instance; the default of 30 per minute leaves half of it.

The CDK's `APIBudget` (a moving window, thread-safe) does the counting and blocks the calling thread
until a call is allowed, silently. `HaloBudget` only adds the announcement: a user watching the log
must be able to tell a connector waiting for its budget from one that hangs.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from airbyte_cdk.sources.streams.call_rate import APIBudget, CallRateLimitHit, MovingWindowCallRatePolicy, Rate

from source_haloitsm.waits import announce_wait

WINDOW = dt.timedelta(seconds=60)


class HaloBudget(APIBudget):
    def __init__(self, requests_per_minute: int):
        # No matchers: the policy applies to every request sent through this budget.
        super().__init__(policies=[MovingWindowCallRatePolicy(rates=[Rate(requests_per_minute, WINDOW)], matchers=[])])
        self.requests_per_minute = requests_per_minute

    def acquire_call(self, request: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        if block:
            try:
                super().acquire_call(request, block=False)
                return
            except CallRateLimitHit as hit:
                announce_wait(
                    "for the request budget",
                    hit.time_to_wait.total_seconds(),
                    f"{self.requests_per_minute} requests were sent in the last {WINDOW.total_seconds():.0f} s, "
                    f"the most 'rate_limit' allows.",
                )
        super().acquire_call(request, block=block, timeout=timeout)


def request_budget(requests_per_minute: int) -> HaloBudget:
    return HaloBudget(requests_per_minute)
