"""One request budget for the whole connector: never more than `rate_limit` requests (token requests
included) in any rolling 60 seconds, across every stream and worker thread.

Halo-hosted answers 429 past "300 Requests per rolling 5 minute window" (HALO_API_FACTS.md section 5,
S11), shared by every integration of the instance; the default of 30 per minute leaves half of it.
The CDK's `APIBudget` blocks the calling thread until a call is allowed, and is thread-safe.
"""
from __future__ import annotations

import datetime as dt

from airbyte_cdk.sources.streams.call_rate import APIBudget, MovingWindowCallRatePolicy, Rate

WINDOW = dt.timedelta(seconds=60)


def request_budget(requests_per_minute: int) -> APIBudget:
    # No matchers: the policy applies to every request sent through this budget.
    return APIBudget(policies=[MovingWindowCallRatePolicy(rates=[Rate(requests_per_minute, WINDOW)], matchers=[])])
