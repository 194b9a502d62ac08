"""OAuth2 client credentials against Halo's authorisation server (docs/halo-api.md, section 1).

`POST {base_url}/auth/token[?tenant=T]` with the form fields `grant_type=client_credentials,
client_id, client_secret, scope`; the answer carries `access_token` and `expires_in` (typically 3600).
Every Halo client simply asks for a new token when the old one expires or a 401 comes back.

The provider signs every API request (`requests` auth hook) and is driven by the CDK: on a 401 the
error handler (`responses.py`) marks the token rejected and answers `REFRESH_TOKEN_THEN_RETRY`, and
the CDK's HttpClient calls `refresh_and_set_access_token()`. Guarantees:
- one token is shared by every stream and worker, and renewed shortly before it expires;
- only one token request runs at a time; threads that need a token meanwhile wait for it;
- a token rejected once is never sent again, and one rejection causes one new token, however many
  threads saw it;
- token requests go through the same client, budget and error handling as every other request.

Why not the CDK's `Oauth2Authenticator` (checked on airbyte-cdk 7.39.1): it sends
`scopes` instead of `scope`, refreshes only after `expires_in` has fully passed, bypasses the rate
budget, has no timeout, and reports bad client credentials as a "refresh token" problem.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Mapping, Optional, Set, Tuple
from urllib.parse import quote, quote_plus

import requests
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets

from source_haloitsm.config import HaloConfig
from source_haloitsm.errors import ConfigError

logger = logging.getLogger("airbyte")

# Renew this long before `expires_in` runs out (at most 10% of the lifetime for short-lived tokens).
EXPIRY_MARGIN_SECONDS = 60.0

# () -> (access_token, expires_in seconds); raises ConfigError / TransientHaloError
FetchToken = Callable[[], Tuple[str, float]]


def register_secret(value: Optional[str]) -> None:
    """Masks a secret in every log line, also in the encoded forms a request body or URL carries it in."""
    if value:
        for form in {value, quote_plus(value), quote(value, safe="")}:
            add_to_secrets(form)


class HaloTokenProvider(requests.auth.AuthBase):
    def __init__(self, config: HaloConfig, fetch: FetchToken):
        self._config = config
        self._fetch = fetch
        self._lock = threading.Lock()
        self._token: Optional[str] = None
        self._expires_at = 0.0
        self._rejected: Set[str] = set()
        self._replacements: Set[str] = set()  # tokens issued because the one before was rejected
        self._failure: Optional[Exception] = None  # a configuration problem: no token will ever work
        self.tokens_issued = 0
        self.api_accepted_a_token = False  # the API has answered a request with a 2xx
        self.clock = time.monotonic  # replaceable in tests

    # requests' hook: sign each request with the current token.
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def token(self) -> str:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._needs_new_token():
                self._renew()
            return self._token  # type: ignore[return-value]

    def _needs_new_token(self) -> bool:
        return self._token is None or self._token in self._rejected or self.clock() >= self._expires_at

    def _renew(self) -> None:
        replacing_a_rejected_token = self._token is not None and self._token in self._rejected
        try:
            token, expires_in = self._fetch()
        except ConfigError as exc:
            self._failure = exc  # bad credentials, scope or tenant: asking again cannot help
            raise
        register_secret(token)
        if replacing_a_rejected_token:
            self._replacements.add(token)
        margin = min(EXPIRY_MARGIN_SECONDS, expires_in / 10)
        self._token = token
        self._expires_at = self.clock() + max(0.0, expires_in - margin)
        self.tokens_issued += 1
        logger.info(f"Obtained a Halo access token (expires in {int(expires_in)} s) for {self._config.describe_instance()}.")

    def reject(self, token: Optional[str]) -> bool:
        """Halo answered 401 to a request signed with `token`: never send it again. Returns whether that
        token was itself the replacement of a rejected one."""
        if not token:
            return False
        with self._lock:
            self._rejected.add(token)
            return token in self._replacements

    def fail(self, problem: Exception) -> None:
        """No token will work (the API rejects fresh ones): every later request fails at once with this."""
        with self._lock:
            self._failure = problem

    # ---- what the CDK's HttpClient calls on REFRESH_TOKEN_THEN_RETRY ----
    def get_auth_header(self) -> Mapping[str, Any]:
        """The header the next request would carry, without asking Halo for anything. The CDK compares
        it with the rejected request's header: when another thread already replaced the token, it retries
        without another refresh."""
        current = self._token
        return {"Authorization": f"Bearer {current}"} if current else {}

    def refresh_and_set_access_token(self) -> None:
        """A new token unless the current one is still good (another thread got it meanwhile)."""
        self.token()
