"""HaloClient: the one HTTP path. Every request the connector sends (ticket pages, reference lists,
`check`, type verification, tokens) goes through the CDK's `HttpClient` here, with:
- one request budget (`rate_limit` per rolling minute, token requests included);
- one token provider, shared by every stream and worker;
- one decision table for Halo's answers (`responses.py`) and one back-off strategy;
- `request_timeout` on every request.

A read builds one client and hands it to every stream; `check` builds its own with fewer retries.
Two CDK HttpClients share the budget: one signs requests with the token, one asks for tokens (a token
request must not be signed with a token).

When the CDK gives up on a request, its generic "Exhausted available request attempts" is turned into
the message of the last failure plus what happens next.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import threading
from collections import Counter
from typing import Any, Mapping, Optional, Tuple

import requests
import urllib3
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.http_config import MAX_CONNECTION_POOL_SIZE
from airbyte_cdk.sources.streams.call_rate import LimiterSession
from airbyte_cdk.sources.streams.http.http_client import HttpClient
from airbyte_cdk.sources.streams.http.page_size_reduction_exception import PageSizeReductionRequiredException
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_haloitsm.auth import HaloTokenProvider, register_secret
from source_haloitsm.clock import HaloClock
from source_haloitsm import redaction
from source_haloitsm.config import HaloConfig
from source_haloitsm.errors import RESUMES, ConfigError, TransientHaloError
from source_haloitsm.rate_limit import request_budget
from source_haloitsm.responses import HaloBackoffStrategy, HaloErrorHandler, TokenErrorHandler, body_of, install_log_filter


class PageTooLarge(Exception):
    """Halo's gateway gave up on a page (502/504): ask for the same rows in smaller pages."""


class RequestRejected(AirbyteTracedException):
    """Halo answered 400: it does not take the request as sent (a system error, unless the caller knows
    what the rejection means, e.g. an instance that does not answer date ranges of actions)."""


class WholeBodyAdapter(requests.adapters.HTTPAdapter):
    """Reads each answer's body in one call. requests reads it in 10 KB chunks, each through several
    layers of Python: 0.4 ms of CPU for a 300 KB page of tickets, about 8 us a record
    (benchmarks/throughput.py). A body cut off in transfer raises what requests raises for it, so the
    answer table (responses.py) retries it as before."""

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        try:
            body = resp.read(decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(exc, request=req) from None
        except urllib3.exceptions.HTTPError as exc:  # IncompleteRead, ProtocolError, DecodeError ...
            raise requests.exceptions.ChunkedEncodingError(exc, request=req) from None
        finally:
            resp.release_conn()
        response = super().build_response(req, resp)
        response.raw = io.BytesIO(body)
        return response


class SigningAdapter(WholeBodyAdapter):
    """Signs each request with the current token at the moment it goes out. requests signs a request
    when it is prepared, before it waits for the rate budget (and the CDK retries the same prepared
    request after a back-off): a token that expired during the wait went out anyway, once per waiting
    worker (4 rejected requests for one token, measured with 4 workers under a 30/min budget and
    4-second tokens). Signed here, a request carries a token that is good for at least the renewal
    margin (auth.py)."""

    def __init__(self, tokens: HaloTokenProvider, **kwargs: Any):
        super().__init__(**kwargs)
        self.tokens = tokens

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if "Authorization" in request.headers:
            request.headers["Authorization"] = f"Bearer {self.tokens.token()}"
        return super().send(request, *args, **kwargs)


def _session(budget: Any, tokens: Optional[HaloTokenProvider] = None) -> requests.Session:
    """The CDK's rate-limited session (every request waits for the shared budget) with the adapters
    above; API requests are signed as they go out."""
    session = LimiterSession(api_budget=budget)
    for prefix in ("https://", "http://"):
        adapter = (
            SigningAdapter(tokens, pool_connections=MAX_CONNECTION_POOL_SIZE, pool_maxsize=MAX_CONNECTION_POOL_SIZE)
            if tokens is not None
            else WholeBodyAdapter(pool_connections=MAX_CONNECTION_POOL_SIZE, pool_maxsize=MAX_CONNECTION_POOL_SIZE)
        )
        session.mount(prefix, adapter)
    return session


class HaloClient:
    def __init__(
        self,
        config: HaloConfig,
        logger: Optional[logging.Logger] = None,
        max_retries: Optional[int] = None,
        after_giving_up: str = RESUMES,
    ):
        self.config = config
        self.after_giving_up = after_giving_up
        self.logger = logger or logging.getLogger("airbyte")
        self.max_retries = config.max_retries if max_retries is None else max_retries
        register_secret(config.client_secret)
        install_log_filter()
        redaction.guard_debug_log(config.redaction, self.logger)  # --debug prints response bodies: not with redaction on
        self.budget = request_budget(config.rate_limit)
        backoff = HaloBackoffStrategy()
        self._token_http = HttpClient(
            name="halo-token",
            logger=self.logger,
            error_handler=TokenErrorHandler(config, self.max_retries),
            api_budget=self.budget,
            session=_session(self.budget),
            backoff_strategy=backoff,
            request_timeout=config.request_timeout,
        )
        self.tokens = HaloTokenProvider(config, self._request_token)
        self.http = HttpClient(
            name="haloitsm",
            logger=self.logger,
            error_handler=HaloErrorHandler(config, self.tokens, self.max_retries),
            api_budget=self.budget,
            session=_session(self.budget, self.tokens),
            authenticator=self.tokens,
            backoff_strategy=backoff,
            request_timeout=config.request_timeout,
        )
        self._lock = threading.Lock()
        self.calls: Counter = Counter()  # API calls per path (each may have been retried)
        self.clock = HaloClock()  # Halo's own clock, from the Date header of its answers
        self._asked_for_date = False
        self._date_lock = threading.Lock()

    def now(self) -> dt.datetime:
        """Halo's present (clock.py). Before any answer came, the token request's answer tells it."""
        with self._date_lock:  # every stream waits for the one answer that tells it
            if not self.clock.known and not self._asked_for_date:
                self._asked_for_date = True
                self.tokens.token()
        return self.clock.now()

    def get(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        """GET {base_url}/api/{path}: the parsed JSON body. Raises PageTooLarge (502/504 on a page),
        ConfigError, TransientHaloError, or the CDK's system error for a connector bug."""
        with self._lock:
            self.calls[path] += 1
        try:
            _, response = self.http.send_request("GET", self.config.api_url + path, request_kwargs={}, params=dict(params or {}))
        except PageSizeReductionRequiredException as exc:
            raise PageTooLarge(exc.message) from None
        except (ConfigError, TransientHaloError):
            raise
        except AirbyteTracedException as exc:
            raise self._gave_up(exc, f"GET /api/{path}") from None
        if response.status_code == 400:  # only the answers responses.py hands back (a refused date range)
            raise RequestRejected(
                message=f"Halo refused GET /api/{path} (HTTP 400)", failure_type=FailureType.system_error
            )
        self.clock.observe(response.headers.get("Date"))
        return body_of(response)

    def _request_token(self) -> Tuple[str, float]:
        cfg = self.config
        form = {"grant_type": "client_credentials", "client_id": cfg.client_id, "client_secret": cfg.client_secret, "scope": cfg.scope}
        try:
            _, response = self._token_http.send_request(
                "POST", cfg.token_url, request_kwargs={}, params={"tenant": cfg.tenant} if cfg.tenant else None, data=form
            )
        except (ConfigError, TransientHaloError):
            raise
        except AirbyteTracedException as exc:
            raise self._gave_up(exc, f"POST {cfg.token_url}") from None
        self.clock.observe(response.headers.get("Date"))
        body = body_of(response)
        try:
            expires_in = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            expires_in = 3600.0
        return body["access_token"], expires_in


    def _gave_up(self, exc: AirbyteTracedException, what: str) -> AirbyteTracedException:
        """The CDK's own exception, in this connector's words."""
        cause = exc.__context__  # the CDK's back-off exception, whose text is the last answer's meaning
        last = str(cause) if cause is not None and str(cause) else (exc.message or str(exc))
        if exc.failure_type == FailureType.config_error:
            return ConfigError(exc.message or last)
        if exc.failure_type == FailureType.system_error and cause is None:
            return exc
        return TransientHaloError(
            f"{last} {what} failed {self.max_retries + 1} times in a row. {self.after_giving_up}",
            internal_message=exc.internal_message,
        )
