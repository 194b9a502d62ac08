"""The connector's two failure kinds and every message a user reads about Halo's answers.

`responses.py` decides what each answer means; the words for it are here, so `check` and `read`
say the same thing about the same problem. Each message says which setting or Halo screen to look
at. Facts behind them: docs/halo-api.md, sections 1 (tokens) and 5 (status codes).
"""
from __future__ import annotations

from typing import Any, Optional

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException


class ConfigError(AirbyteTracedException):
    """A problem the user fixes in the configuration or in Halo's settings."""

    def __init__(self, message: str, internal_message: Optional[str] = None):
        super().__init__(message=message, internal_message=internal_message or message, failure_type=FailureType.config_error)


class TransientHaloError(AirbyteTracedException):
    """Halo kept failing after every retry; the next sync resumes from the last state."""

    def __init__(self, message: str, internal_message: Optional[str] = None):
        super().__init__(message=message, internal_message=internal_message or message, failure_type=FailureType.transient_error)


RESUMES = "The sync stopped; the next sync resumes from its last state."


def forbidden_message(where: str) -> str:
    return (
        f"Halo refused access (403 Forbidden) on {where}. The API application's scope or its agent's "
        "permissions do not allow reading this: in Halo, give the application the 'read:tickets' "
        "(or 'all') permission, ask for it in 'scope', and make sure the agent it runs as can see tickets."
    )


def not_found_message(where: str) -> str:
    return (
        f"Halo's API was not found (404) on {where}. Check 'base_url': it must be the address of "
        "your Halo instance without a path, for example https://acme.haloitsm.com (not .../api)."
    )


def fresh_token_rejected_message(instance: str, tenant: str) -> str:
    return (
        f"Halo's API rejected a freshly issued access token (401) on {instance}. The token endpoint and the API "
        f"disagree: check that 'tenant' ({tenant or 'empty'}) and 'base_url' name the same Halo instance, and "
        "that the API application is active."
    )


def bad_body_message(what: str, response: requests.Response, problem: str) -> str:
    kind = response.headers.get("Content-Type", "unknown type")
    return (
        f"Halo answered {what} with HTTP {response.status_code} but not with its usual JSON ({problem}; {kind}, "
        f"{len(response.content)} bytes). If this persists, check 'base_url': it must be your Halo instance, "
        "not a login or proxy page."
    )


def network_problem(exc: BaseException, base_url: str, request_timeout: Any) -> "tuple[str, bool]":
    """(message, permanent) for an exception raised while sending a request."""
    text = str(exc)
    host = base_url.split("://", 1)[-1]
    if isinstance(exc, requests.exceptions.SSLError):
        return (
            f"The TLS connection to {host} failed (certificate not trusted or not for this host). Check that "
            f"'base_url' ({base_url}) is your Halo address and that its certificate is valid.",
            True,
        )
    if any(s in text for s in ("Name or service not known", "nodename nor servname", "NameResolutionError", "getaddrinfo failed", "Failed to resolve")):
        return (
            f"The host in 'base_url' ({host}) could not be found (DNS lookup failed). Check the address of your "
            "Halo instance, for example https://acme.haloitsm.com.",
            True,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return f"Halo at {base_url} did not answer within request_timeout ({request_timeout} s).", False
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return (
            f"Connection to {host} was refused. Check 'base_url' ({base_url}): nothing accepts connections there.",
            False,
        )
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"Halo's answer was cut off in transfer ({type(exc).__name__}).", False
    return f"Could not connect to Halo at {base_url} ({type(exc).__name__}). Check 'base_url' and your network.", False


def redact(text: str, *secrets: Optional[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "****")
    return text
