"""What Halo's answers mean for the connector, and what the user reads.

Halo's status codes (HALO_API_FACTS.md section 5): 401 expired/invalid token (refresh once);
403 scope or agent permissions; 404 unknown route (a wrong base_url); 400 validation with bodies of
many shapes; 429 "Rate Limit Reached - 300 Requests per rolling 5 minute window", `Retry-After`
UNKNOWN; 5xx sometimes with .NET exception bodies. Users in S11 report that 5 s after a 429 is not
enough; Halo's window is a rolling 5 minutes.
"""
from __future__ import annotations

import datetime
import logging
import os
import random
from typing import Mapping, Optional, Union

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers import (
    BackoffStrategy,
    ErrorResolution,
    HttpStatusErrorHandler,
    ResponseAction,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

# Development knob: multiplies every back-off wait (tests shrink Halo-sized waits to fractions of a
# second). Users never need it.
BACKOFF_SCALE_ENV = "SOURCE_HALOITSM_BACKOFF_SCALE"

# Halo's window is a rolling 5 minutes: without Retry-After, wait 30 s, then 60, 120, 240, 300...
RATE_LIMIT_FIRST_WAIT = 30.0
RATE_LIMIT_MAX_WAIT = 300.0
# 5xx, timeouts and dropped connections: 1, 2, 4, 8... seconds, at most 60.
TRANSIENT_FIRST_WAIT = 1.0
TRANSIENT_MAX_WAIT = 60.0
# The longest single wait the connector ever makes: metadata.yaml's maxSecondsBetweenMessages
# must stay above it.
LONGEST_WAIT = RATE_LIMIT_MAX_WAIT


class ConfigError(AirbyteTracedException):
    """A problem the user fixes in the configuration or in Halo's settings."""

    def __init__(self, message: str, internal_message: Optional[str] = None):
        super().__init__(message=message, internal_message=internal_message or message, failure_type=FailureType.config_error)


class TransientHaloError(AirbyteTracedException):
    """Halo kept failing after every retry; the next sync resumes from the last state."""

    def __init__(self, message: str, internal_message: Optional[str] = None):
        super().__init__(message=message, internal_message=internal_message or message, failure_type=FailureType.transient_error)


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


def retry_after_seconds(response: Optional[requests.Response]) -> Optional[float]:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        # An HTTP-date is allowed too.
        from email.utils import parsedate_to_datetime
        import datetime as dt

        try:
            when = parsedate_to_datetime(value)
            return max(0.0, (when - dt.datetime.now(when.tzinfo)).total_seconds())
        except (TypeError, ValueError):
            return None


class HaloBackoffStrategy(BackoffStrategy):
    """Retry-After when Halo sends it; otherwise waits sized for Halo's rolling 5-minute window on 429,
    and short exponential waits for 5xx and network errors.

    The CDK sleeps the returned value plus one second.
    """

    def backoff_time(
        self,
        response_or_exception: Optional[Union[requests.Response, requests.RequestException]],
        attempt_count: int,
    ) -> Optional[float]:
        if isinstance(response_or_exception, requests.Response) and response_or_exception.status_code == 429:
            wait = rate_limit_wait(attempt_count, retry_after_seconds(response_or_exception))
            logging.getLogger("airbyte").warning(
                f"Halo answered 429 (rate limit). Waiting {wait:.1f} s before retry {attempt_count}."
            )
            return wait
        return transient_wait(attempt_count)


def forbidden_message(where: str) -> str:
    return (
        f"Halo refused access (403 Forbidden) on {where}. The API application's scope or its agent's "
        "permissions do not allow reading tickets: in Halo, give the application the 'read:tickets' "
        "(or 'all') permission, ask for it in 'scope', and make sure the agent it runs as can see tickets."
    )


def not_found_message(where: str) -> str:
    return (
        f"Halo's API was not found (404) on {where}. Check 'base_url': it must be the address of "
        "your Halo instance without a path, for example https://acme.haloitsm.com (not .../api)."
    )


def error_mapping(config_hint: str) -> Mapping[Union[int, str, type], ErrorResolution]:
    """Status -> what to do. 401, 502 and 504 are handled by the page reader itself (refresh the token
    once; retry the page with a smaller page_size), so they are passed through here."""
    return {
        401: ErrorResolution(ResponseAction.IGNORE),
        502: ErrorResolution(ResponseAction.IGNORE),
        504: ErrorResolution(ResponseAction.IGNORE),
        403: ErrorResolution(ResponseAction.FAIL, FailureType.config_error, forbidden_message(config_hint)),
        404: ErrorResolution(ResponseAction.FAIL, FailureType.config_error, not_found_message(config_hint)),
        400: ErrorResolution(
            ResponseAction.FAIL,
            FailureType.system_error,
            "Halo rejected the request (400 Bad Request). This is a bug in the connector or an unexpected Halo "
            "version: please report it with the log.",
        ),
        408: ErrorResolution(ResponseAction.RETRY, FailureType.transient_error, "Halo timed out (408)."),
        429: ErrorResolution(ResponseAction.RATE_LIMITED, FailureType.transient_error, "Halo's rate limit was reached (429)."),
        500: ErrorResolution(ResponseAction.RETRY, FailureType.transient_error, "Halo had an internal error (500)."),
        503: ErrorResolution(ResponseAction.RETRY, FailureType.transient_error, "Halo is unavailable (503)."),
        requests.exceptions.ConnectionError: ErrorResolution(
            ResponseAction.RETRY, FailureType.transient_error, "The connection to Halo failed."
        ),
        # The CDK looks exceptions up by their exact class: requests raises the subclasses.
        **{
            timeout: ErrorResolution(
                ResponseAction.RETRY, FailureType.transient_error, "Halo did not answer within request_timeout."
            )
            for timeout in (requests.exceptions.Timeout, requests.exceptions.ReadTimeout, requests.exceptions.ConnectTimeout)
        },
        requests.exceptions.ChunkedEncodingError: ErrorResolution(
            ResponseAction.RETRY, FailureType.transient_error, "Halo's response was cut off."
        ),
    }


def halo_error_handler(logger: logging.Logger, config_hint: str, max_retries: int) -> HttpStatusErrorHandler:
    return HttpStatusErrorHandler(
        logger=logger,
        error_mapping=error_mapping(config_hint),
        max_retries=max_retries,
        max_time=datetime.timedelta(hours=24),
    )
