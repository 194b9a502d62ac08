"""What each Halo answer means: the one place that decides retry, wait, new token, smaller page or
fail, for every request the connector sends (docs/halo-api.md, section 5).

These are the CDK's own interfaces (`ErrorHandler`, `BackoffStrategy`), driven by the CDK's
`HttpClient` inside `client.HaloClient`; nothing loops around them.

| Halo's answer | action |
|---|---|
| 2xx with the endpoint's JSON | success (the body is parsed here, once, and kept on the response) |
| 2xx that is HTML, cut off, or lacks the list | retry with back-off |
| 401 | the first time for a request: the CDK asks the token provider for a new token and retries; again: a config error if Halo's API never accepted any token (the token endpoint and the API disagree), else retry with yet another token |
| 403, 404 | config error naming what to check |
| 400 on a date range of actions | handed back (RequestRejected): the instance does not answer such ranges |
| 400, other 4xx | system error (a connector bug or an unexpected Halo version) |
| 429 | wait `Retry-After`, else 30, 60, 120, 240, 300 s |
| 502, 504 on a page | ask for the page again with a smaller `page_size` (the page reader does it) |
| 5xx, timeouts, dropped or cut connections | retry with back-off (1, 2, 4 ... 60 s) |
| DNS failure, TLS failure | config error |

Token requests have their own table (`TokenErrorHandler`): bad credentials, scope, tenant.
Every wait is capped and announced (waits.py).
"""
from __future__ import annotations

import email.utils
import datetime as dt
import logging
import weakref
from typing import Any, Optional, Union
from urllib.parse import parse_qs, urlsplit

import orjson
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, ErrorHandler, ErrorResolution, ResponseAction

from source_haloitsm import endpoints
from source_haloitsm.auth import register_secret
from source_haloitsm.config import HaloConfig
from source_haloitsm.errors import (
    RESUMES,
    ConfigError,
    TransientHaloError,
    bad_body_message,
    forbidden_message,
    fresh_token_rejected_message,
    network_problem,
    not_found_message,
    redact,
)
from source_haloitsm.waits import MAX_WAIT_SECONDS, announce_wait, backoff_scale, rate_limit_wait, transient_wait

logger = logging.getLogger("airbyte")

# The CDK retries a request at most this long in all; every single wait is capped much lower.
MAX_RETRY_TIME_SECONDS = 24 * 3600

SUCCESS = ErrorResolution(ResponseAction.SUCCESS)
BODY_ATTRIBUTE = "halo_body"


def body_of(response: requests.Response) -> Any:
    """The JSON body the error handler parsed (each body is parsed once)."""
    return getattr(response, BODY_ATTRIBUTE)


def describe_request(request: Optional[requests.PreparedRequest]) -> str:
    if request is None:
        return "the request"
    return f"{request.method} {urlsplit(request.url or '').path}"


def _retry(message: str) -> ErrorResolution:
    return ErrorResolution(ResponseAction.RETRY, FailureType.transient_error, message)


def _fail(message: str, failure_type: FailureType = FailureType.config_error) -> ErrorResolution:
    return ErrorResolution(ResponseAction.FAIL, failure_type, message)


class _HaloHandler(ErrorHandler):
    def __init__(self, config: HaloConfig, max_retries: int):
        self._config = config
        self._max_retries = max_retries

    @property
    def max_retries(self) -> Optional[int]:
        return self._max_retries

    @property
    def max_time(self) -> Optional[int]:
        return MAX_RETRY_TIME_SECONDS

    def _exception(self, exc: BaseException) -> ErrorResolution:
        message, permanent = network_problem(exc, self._config.base_url, self._config.request_timeout)
        return _fail(message) if permanent else _retry(message)

    def _parse(self, response: requests.Response) -> Any:
        """The body as JSON, kept on the response; raises ValueError when it is not JSON."""
        body = orjson.loads(response.content)
        setattr(response, BODY_ATTRIBUTE, body)
        return body


class HaloErrorHandler(_HaloHandler):
    """Answers of Halo's resource API (`/api/...`)."""

    def __init__(self, config: HaloConfig, tokens: Any, max_retries: int):
        super().__init__(config, max_retries)
        self._tokens = tokens
        self._rejected_once: "weakref.WeakSet[requests.PreparedRequest]" = weakref.WeakSet()

    def interpret_response(self, response_or_exception: Optional[Union[requests.Response, Exception]]) -> ErrorResolution:
        if not isinstance(response_or_exception, requests.Response):
            return self._exception(response_or_exception) if response_or_exception is not None else _retry("No answer from Halo.")
        response = response_or_exception
        status = response.status_code
        what = describe_request(response.request)
        if 200 <= status < 300:
            return self._success(response, what)
        if status == 401:
            return self._unauthorized(response)
        if status == 403:
            return _fail(forbidden_message(f"{what} ({self._config.describe_instance()})"))
        if status == 404:
            return _fail(not_found_message(f"{what} ({self._config.describe_instance()})"))
        if status == 429:
            return ErrorResolution(ResponseAction.RATE_LIMITED, FailureType.transient_error, f"Halo's rate limit was reached (429) on {what}.")
        if status in (502, 504) and _page_size(response.request) > 1:
            return ErrorResolution(ResponseAction.REDUCE_PAGE_SIZE, FailureType.transient_error, f"Halo's gateway gave up on {what} (HTTP {status}).")
        if status >= 500 or status == 408:
            return _retry(f"Halo answered {what} with HTTP {status}.")
        if status == 400 and _is_range_of_actions(response.request):
            # Not a bug: this instance does not answer date ranges of actions (or not this long). The
            # client hands the answer back as RequestRejected and actions.py reads another way.
            return ErrorResolution(ResponseAction.IGNORE, FailureType.system_error, f"Halo refused the date range of {what} (HTTP 400).")
        return _fail(
            f"Halo rejected {what} (HTTP {status}). This is a bug in the connector or an unexpected Halo version: "
            "please report it with the log.",
            FailureType.system_error,
        )

    def _success(self, response: requests.Response, what: str) -> ErrorResolution:
        try:
            body = self._parse(response)
        except ValueError:
            return _retry(bad_body_message(what, response, "the body is not JSON, or is cut off"))
        endpoint = endpoints.BY_PATH.get(_api_path(response.request))
        if endpoint is not None:
            try:
                endpoint.rows(body)
            except endpoints.MissingList as problem:
                return _retry(bad_body_message(what, response, str(problem)))
        self._tokens.api_accepted_a_token = True
        return SUCCESS

    def _unauthorized(self, response: requests.Response) -> ErrorResolution:
        request = response.request
        replacement = self._tokens.reject(_bearer_of(request))  # never sent again, by any thread
        if replacement and not self._tokens.api_accepted_a_token:
            message = fresh_token_rejected_message(self._config.describe_instance(), self._config.tenant)
            self._tokens.fail(ConfigError(message))
            return _fail(message)
        if replacement or request in self._rejected_once:
            # The API has accepted tokens before: this one was used up or revoked meanwhile (workers share
            # it). Not a configuration problem: the retry is signed with another, within max_retries.
            return _retry(f"Halo's API kept rejecting access tokens (401) on {self._config.describe_instance()}.")
        self._rejected_once.add(request)
        # The CDK asks the token provider for a new token (one refresh, however many threads saw the
        # same token rejected) and retries.
        return ErrorResolution(ResponseAction.REFRESH_TOKEN_THEN_RETRY, FailureType.transient_error, "Halo rejected the access token (401).")


class TokenErrorHandler(_HaloHandler):
    """Answers of Halo's token endpoint (`POST /auth/token`, docs/halo-api.md section 1)."""

    def interpret_response(self, response_or_exception: Optional[Union[requests.Response, Exception]]) -> ErrorResolution:
        if not isinstance(response_or_exception, requests.Response):
            return self._exception(response_or_exception) if response_or_exception is not None else _retry("No answer from Halo.")
        response = response_or_exception
        cfg = self._config
        status = response.status_code
        where = cfg.token_url + (f"?tenant={cfg.tenant}" if cfg.tenant else "")
        if status == 200:
            try:
                body = self._parse(response)
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("access_token"), str) and body["access_token"]:
                # Masked before anything can log the answer (the CDK logs bodies at debug level).
                for key in ("access_token", "refresh_token", "id_token"):
                    if isinstance(body.get(key), str):
                        register_secret(body[key])
                return SUCCESS
            return _retry(
                f"Halo's token endpoint {where} answered 200 without a usable access_token. Check that base_url "
                f"({cfg.base_url}) is your Halo instance."
            )
        if status == 429:
            return ErrorResolution(ResponseAction.RATE_LIMITED, FailureType.transient_error, f"Halo's rate limit was reached (429) on {where}.")
        if status >= 500:
            return _retry(
                f"Halo's token endpoint failed (HTTP {status}) at {where}. Halo answers this way when the tenant is "
                f"wrong: check 'tenant' ('{cfg.tenant}') against Configuration > Integrations > Halo API > API Details."
            )
        return _fail(self._rejection(response, where))

    def _rejection(self, response: requests.Response, where: str) -> str:
        cfg = self._config
        try:
            body = orjson.loads(response.content)
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, str) else None
        description = body.get("error_description") if isinstance(body, dict) else None
        detail = redact(f" ({error}: {description})" if error else "", cfg.client_secret)
        status = response.status_code
        if status == 401 or error == "invalid_client":
            return (
                f"Halo rejected the client credentials (HTTP {status}{detail}) at {where} for {cfg.describe_instance()}. "
                "Check 'client_id' and 'client_secret' (Halo: Configuration > Integrations > Halo API > your application, "
                "authentication method 'Client ID and Secret (Services)') and that 'tenant' is your Halo tenant."
            )
        if error == "invalid_scope":
            return (
                f"Halo rejected the scope '{cfg.scope}' (HTTP {status}{detail}). Set 'scope' to scopes the API application "
                "has, for example 'all' or 'read:tickets'."
            )
        if status == 404:
            return (
                f"No Halo token endpoint at {where} (HTTP 404). Check 'base_url' ({cfg.base_url}): it must be the address "
                "of your Halo instance, without a path."
            )
        if status == 403:
            return f"Halo refused the token request (HTTP 403{detail}) at {where}. Check that the API application is active."
        return f"Halo refused the token request (HTTP {status}{detail}) at {where}. Check 'client_id', 'client_secret', 'tenant' and 'scope'."


class HaloBackoffStrategy(BackoffStrategy):
    """How long to wait before a retry: `Retry-After` when Halo sends it, waits sized for Halo's rolling
    5-minute window on 429 without it, short exponential waits otherwise. A wait longer than
    MAX_WAIT_SECONDS ends the sync as transient. The CDK sleeps the returned value plus one second."""

    def backoff_time(
        self,
        response_or_exception: Optional[Union[requests.Response, requests.RequestException]],
        attempt_count: int,
    ) -> Optional[float]:
        request = getattr(response_or_exception, "request", None)
        what = describe_request(request)
        if isinstance(response_or_exception, requests.Response) and response_or_exception.status_code == 401:
            logger.info(f"Retrying {what} with another access token: Halo rejected the one it was sent with (401).")
            return 0.001  # a new token is ready: retry at once
        if isinstance(response_or_exception, requests.Response) and response_or_exception.status_code == 429:
            retry_after = retry_after_seconds(response_or_exception)
            unscaled = rate_limit_wait(attempt_count, retry_after) / (backoff_scale() or 1.0)
            if retry_after is not None:
                why = f"Halo answered 429 (rate limit) with Retry-After {retry_after:.0f} s"
            else:
                why = "Halo answered 429 (rate limit) without Retry-After; its limit is a rolling 5-minute window"
            kind = "after Halo's rate limit (429)"
        else:
            unscaled = transient_wait(attempt_count) / (backoff_scale() or 1.0)
            why = _describe_failure(response_or_exception)
            kind = f"before retrying {what}"
        if unscaled > MAX_WAIT_SECONDS:
            raise TransientHaloError(
                f"Halo asked the connector to wait {unscaled:.0f} s before retrying {what} ({why}), longer than the "
                f"{MAX_WAIT_SECONDS:.0f} s it waits at most. {RESUMES}"
            )
        wait = unscaled * backoff_scale()
        if not announce_wait(kind, wait + 1, f"{why} (retry {attempt_count} of {what})."):
            logger.info(f"Retrying {what} in {wait + 1:.1f} s (retry {attempt_count}): {why}.")
        return wait


class CdkRetryLineFilter(logging.Filter):
    """Drops the CDK's own line before each retry: it calls every wait "Rate limit exceeded", also after
    a 500 or an HTML answer. HaloBackoffStrategy logs the real reason instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("UserDefinedBackoffException: Rate limit exceeded")


def install_log_filter() -> None:
    cdk_logger = logging.getLogger("airbyte")  # the logger of the CDK's back-off handlers
    if not any(isinstance(f, CdkRetryLineFilter) for f in cdk_logger.filters):
        cdk_logger.addFilter(CdkRetryLineFilter())


def _describe_failure(response_or_exception: Any) -> str:
    if isinstance(response_or_exception, requests.Response):
        return f"Halo answered HTTP {response_or_exception.status_code}"
    if response_or_exception is None:
        return "no answer"
    return f"the connection failed ({type(response_or_exception).__name__})"


def retry_after_seconds(response: Optional[requests.Response]) -> Optional[float]:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:  # an HTTP-date is allowed too
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, (when - dt.datetime.now(when.tzinfo)).total_seconds())
        except (TypeError, ValueError):
            return None


def _api_path(request: Optional[requests.PreparedRequest]) -> str:
    path = urlsplit(request.url or "").path if request is not None else ""
    marker = path.lower().find("/api/")
    return path[marker + 5:].lower().rstrip("/") if marker >= 0 else ""


def _is_range_of_actions(request: Optional[requests.PreparedRequest]) -> bool:
    query = parse_qs(urlsplit(request.url or "").query) if request is not None else {}
    return _api_path(request) == "actions" and "startdate" in query and "ticket_id" not in query


def _page_size(request: Optional[requests.PreparedRequest]) -> int:
    if request is None:
        return 0
    values = parse_qs(urlsplit(request.url or "").query).get("page_size")
    try:
        return int(values[0]) if values else 0
    except ValueError:
        return 0


def _bearer_of(request: Optional[requests.PreparedRequest]) -> Optional[str]:
    if request is None:
        return None
    header = request.headers.get("Authorization", "")
    return header.split(" ", 1)[1] if " " in header else None
