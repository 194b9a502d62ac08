"""OAuth2 client credentials against Halo's authorisation server.

Halo (HALO_API_FACTS.md section 1): `POST {base_url}/auth/token[?tenant=T]`, form fields
`grant_type=client_credentials, client_id, client_secret, scope` (space-separated scopes);
the answer carries `access_token`, `token_type`, `expires_in` (typically 3600). Bad credentials:
401 `invalid_client`; a wrong tenant has been seen to answer 500 (S6); `invalid_scope` and other
OAuth errors are 400 (OpenIddict, S15). Every client simply asks for a new token when the old one
expires or a 401 comes back (S2, S3, S9).

This provider, unlike the CDK's Oauth2Authenticator: reuses one token across threads until shortly
before it expires, sends `scope` (not `scopes`), honours `request_timeout`, counts token requests
against the shared rate budget, and turns a rejection into a message that names the tenant and URL.
Tokens are registered with the CDK's secret filter so no log line can print them.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Optional

import requests
from airbyte_cdk.sources.streams.call_rate import APIBudget
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets

from source_haloitsm.config import HaloConfig
from source_haloitsm.errors import ConfigError, TransientHaloError, rate_limit_wait, retry_after_seconds, transient_wait

logger = logging.getLogger("airbyte")

# Refresh this long before `expires_in` runs out (at most 10% of the lifetime for short-lived tokens).
EXPIRY_MARGIN_SECONDS = 60.0


def redact(text: str, *secrets: Optional[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "****")
    return text


class HaloTokenProvider(requests.auth.AuthBase):
    def __init__(self, config: HaloConfig, budget: APIBudget, session: Optional[requests.Session] = None):
        self._config = config
        self._budget = budget
        self._session = session or requests.Session()
        self._lock = threading.Lock()
        self._token: Optional[str] = None
        self._expires_at = 0.0
        self.api_accepted_a_token = False  # the API has answered a request with a 2xx
        self.clock = time.monotonic  # replaceable in tests

    # requests' hook: sign each request with the current token.
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def token(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at:
                self._fetch()
            return self._token  # type: ignore[return-value]

    def invalidate(self, rejected_token: Optional[str]) -> None:
        """Forget a token the API rejected with 401. Parallel workers that saw the same rejected token
        cause a single new token request."""
        with self._lock:
            if rejected_token is None or rejected_token == self._token:
                self._token = None

    @staticmethod
    def token_of(request: Optional[requests.PreparedRequest]) -> Optional[str]:
        if request is None:
            return None
        header = request.headers.get("Authorization", "")
        return header.split(" ", 1)[1] if " " in header else None

    def _fetch(self, max_retries: Optional[int] = None) -> None:
        cfg = self._config
        params = {"tenant": cfg.tenant} if cfg.tenant else None
        form = {
            "grant_type": "client_credentials",
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "scope": cfg.scope,
        }
        retries = cfg.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            attempt += 1
            prepared = requests.Request("POST", cfg.token_url, params=params, data=form).prepare()
            self._budget.acquire_call(prepared)
            try:
                response = self._session.send(prepared, timeout=cfg.request_timeout)
            except requests.exceptions.RequestException as exc:
                problem = _network_problem(exc, cfg)
                if attempt > retries or problem.permanent:
                    raise ConfigError(problem.message, internal_message=redact(str(exc), cfg.client_secret)) if problem.permanent else TransientHaloError(problem.message)
                wait = transient_wait(attempt)
                logger.warning(f"Token request to {cfg.token_url} failed ({type(exc).__name__}); retrying in {wait:.1f} s.")
                time.sleep(wait)
                continue

            if response.status_code == 200:
                try:
                    body = response.json()
                    token = body["access_token"]
                    expires_in = float(body.get("expires_in") or 3600)
                except (ValueError, KeyError, TypeError):
                    if attempt > retries:
                        raise TransientHaloError(
                            f"Halo's token endpoint {cfg.token_url} answered 200 without a usable access_token. "
                            f"Check that base_url ({cfg.base_url}) is your Halo instance."
                        )
                    time.sleep(transient_wait(attempt))
                    continue
                add_to_secrets(token)
                margin = min(EXPIRY_MARGIN_SECONDS, expires_in / 10)
                self._token = token
                self._expires_at = self.clock() + max(0.0, expires_in - margin)
                logger.info(f"Obtained a Halo access token (expires in {int(expires_in)} s) for {cfg.describe_instance()}.")
                return

            if response.status_code in (429, 500, 502, 503, 504) and attempt <= retries:
                retry_after = retry_after_seconds(response)
                wait = rate_limit_wait(attempt, retry_after) if response.status_code == 429 else transient_wait(attempt)
                logger.warning(f"Token request answered {response.status_code}; retrying in {wait:.1f} s.")
                time.sleep(wait)
                continue
            raise _token_rejection(response, cfg)


class _Problem:
    def __init__(self, message: str, permanent: bool):
        self.message = message
        self.permanent = permanent


def _network_problem(exc: requests.exceptions.RequestException, cfg: HaloConfig) -> _Problem:
    text = str(exc)
    host = cfg.base_url.split("://", 1)[1]
    if isinstance(exc, requests.exceptions.SSLError):
        return _Problem(
            f"The TLS connection to {host} failed (certificate not trusted or not for this host). Check that "
            f"'base_url' ({cfg.base_url}) is your Halo address and that its certificate is valid.",
            permanent=True,
        )
    if "Name or service not known" in text or "nodename nor servname" in text or "NameResolutionError" in text or "getaddrinfo failed" in text or "Failed to resolve" in text:
        return _Problem(
            f"The host in 'base_url' ({host}) could not be found (DNS lookup failed). Check the address of your "
            "Halo instance, for example https://acme.haloitsm.com.",
            permanent=True,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return _Problem(
            f"Halo at {cfg.base_url} did not answer the token request within request_timeout ({cfg.request_timeout} s).",
            permanent=False,
        )
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return _Problem(
            f"Connection to {host} was refused. Check 'base_url' ({cfg.base_url}): nothing accepts connections there.",
            permanent=False,
        )
    return _Problem(f"Could not connect to Halo at {cfg.base_url} ({type(exc).__name__}). Check 'base_url' and your network.", permanent=False)


def _token_rejection(response: requests.Response, cfg: HaloConfig) -> Exception:
    where = f"{cfg.token_url}" + (f"?tenant={cfg.tenant}" if cfg.tenant else "")
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, str) else None
    description = body.get("error_description") if isinstance(body, dict) else None
    detail = redact(f" ({error}: {description})" if error else "", cfg.client_secret)
    status = response.status_code
    if status == 401 or error == "invalid_client":
        return ConfigError(
            f"Halo rejected the client credentials (HTTP {status}{detail}) at {where} for {cfg.describe_instance()}. "
            "Check 'client_id' and 'client_secret' (Halo: Configuration > Integrations > Halo API > your application, "
            "authentication method 'Client ID and Secret (Services)') and that 'tenant' is your Halo tenant."
        )
    if error == "invalid_scope":
        return ConfigError(
            f"Halo rejected the scope '{cfg.scope}' (HTTP {status}{detail}). Set 'scope' to scopes the API application "
            "has, for example 'all' or 'read:tickets'."
        )
    if status == 404:
        return ConfigError(
            f"No Halo token endpoint at {where} (HTTP 404). Check 'base_url' ({cfg.base_url}): it must be the address "
            "of your Halo instance, without a path."
        )
    if status == 403:
        return ConfigError(f"Halo refused the token request (HTTP 403{detail}) at {where}. Check that the API application is active.")
    if status >= 500:
        return TransientHaloError(
            f"Halo's token endpoint failed (HTTP {status}) at {where} on every retry. Halo answers this way when the "
            f"tenant is wrong: check 'tenant' ('{cfg.tenant}') against Configuration > Integrations > Halo API > API Details."
        )
    return ConfigError(
        f"Halo refused the token request (HTTP {status}{detail}) at {where}. Check 'client_id', 'client_secret', "
        f"'tenant' and 'scope'."
    )
