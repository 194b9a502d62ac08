"""`check`: get a token and read one ticket, and say exactly what is wrong when that fails."""
from __future__ import annotations

import logging
from typing import Any, Mapping, Optional, Tuple

import requests

from source_haloitsm.auth import HaloTokenProvider, _network_problem
from source_haloitsm.config import HaloConfig
from source_haloitsm.errors import ConfigError, TransientHaloError, forbidden_message, not_found_message
from source_haloitsm.rate_limit import request_budget

# check answers quickly: fewer retries than a sync.
CHECK_RETRIES = 1


def check_connection(config: HaloConfig, logger: logging.Logger) -> Tuple[bool, Optional[str]]:
    budget = request_budget(config.rate_limit)
    session = requests.Session()
    auth = HaloTokenProvider(config, budget, session=session)
    try:
        auth._fetch(max_retries=CHECK_RETRIES)
        body = _get(session, auth, budget, config, "Tickets", {"pageinate": "true", "page_size": 1, "page_no": 1})
        if not isinstance(body, dict) or "tickets" not in body:
            return False, (
                f"{config.base_url}/api/Tickets did not answer like Halo's API (no 'tickets' in the response). "
                "Check 'base_url': it must be the address of your Halo instance, for example https://acme.haloitsm.com."
            )
        if not body.get("record_count") and not body.get("tickets"):
            return False, (
                f"Connected to {config.describe_instance()}, but Halo returned no tickets. The agent that the API "
                "application runs as may lack access to tickets: in Halo, check the application's 'Agent to log in as' "
                "and that agent's team and ticket-type permissions (or the application's scope), then retry."
            )
        if config.ticket_types:
            _check_ticket_types(session, auth, budget, config)
    except (ConfigError, TransientHaloError) as exc:
        return False, exc.message
    logger.info(f"Connected to {config.describe_instance()}; read one ticket.")
    return True, None


def _get(session: requests.Session, auth: HaloTokenProvider, budget, config: HaloConfig, path: str, params: Mapping[str, Any]) -> Any:
    url = config.api_url + path
    prepared = requests.Request("GET", url, params=params, auth=auth).prepare()
    budget.acquire_call(prepared)
    try:
        response = session.send(prepared, timeout=config.request_timeout)
    except requests.exceptions.RequestException as exc:
        raise ConfigError(_network_problem(exc, config).message) from None
    status = response.status_code
    if status == 401:
        raise ConfigError(
            f"Halo issued a token but its API rejected it (401) at {url}. Check that 'base_url' and 'tenant' "
            f"({config.tenant or 'empty'}) name the same Halo instance and that the API application is active."
        )
    if status == 403:
        raise ConfigError(forbidden_message(url))
    if status == 404:
        raise ConfigError(not_found_message(url))
    if status == 429:
        raise TransientHaloError("Halo's rate limit is exhausted right now (429). Wait a few minutes and test again.")
    if status >= 500:
        raise TransientHaloError(f"Halo answered {url} with HTTP {status}. Halo may be down; try again later.")
    try:
        return response.json()
    except ValueError:
        raise ConfigError(
            f"{url} did not answer with JSON (HTTP {status}, {response.headers.get('Content-Type', 'unknown type')}). "
            "Check 'base_url': it must be your Halo instance, not a login or proxy page."
        ) from None


def _check_ticket_types(session, auth, budget, config: HaloConfig, body: Any = None) -> None:
    if body is None:
        body = _get(session, auth, budget, config, "TicketType", {"showall": "true"})
    # A bare array (HALO_API_FACTS.md 4, S3, S4, S10); some clients also accept {"tickettypes": [...]}.
    types = body if isinstance(body, list) else (body.get("tickettypes") or body.get("records") or []) if isinstance(body, dict) else []
    known = {int(t["id"]): t.get("name", "") for t in types if isinstance(t, dict) and "id" in t}
    for entry in config.ticket_types:
        if entry.type_id not in known:
            listing = ", ".join(f"{i} ({n})" for i, n in sorted(known.items())) or "none visible"
            raise ConfigError(
                f"Invalid setting 'ticket_types' entry '{entry.name}': type_id {entry.type_id} is not a ticket type "
                f"in Halo. Ticket types visible to the API application: {listing}."
            )


def verify_ticket_types(config: HaloConfig, logger: logging.Logger, budget, auth: HaloTokenProvider) -> None:
    """Before a read: every configured type_id must be a ticket type Halo knows. Without this, a
    mistyped type_id reads as an empty stream, every sync, silently. Raises ConfigError naming the
    entry only when Halo listed its ticket types and the id is not among them. If the list cannot be
    had (network, 5xx, 429, an unreadable answer, a token or permission problem), the read goes on
    unverified and the streams' own retries and error messages deal with Halo. Uses the streams'
    budget and token provider."""
    if not config.ticket_types:
        return
    session = requests.Session()
    try:
        body = _get(session, auth, budget, config, "TicketType", {"showall": "true"})
    except (ConfigError, TransientHaloError) as exc:
        logger.warning(f"Could not verify the ticket_types' type ids before reading: {exc.message}")
        return
    if isinstance(body, list) or (isinstance(body, dict) and isinstance(body.get("tickettypes") or body.get("records"), list)):
        _check_ticket_types(session, auth, budget, config, body=body)
    else:
        logger.warning("Could not verify the ticket_types' type ids before reading: /api/TicketType did not answer with a list.")
