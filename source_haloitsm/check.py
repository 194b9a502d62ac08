"""`check`: get a token and read one ticket (and the ticket types, when `ticket_types` is set), and
say exactly what is wrong when that fails. At most three requests when all is well. Everything goes
through the same client and answer table as a read (client.py, responses.py), with fewer retries."""
from __future__ import annotations

import logging
from typing import Any, Optional, Tuple

from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_haloitsm import endpoints
from source_haloitsm.client import HaloClient
from source_haloitsm.config import HaloConfig
from source_haloitsm.errors import ConfigError, TransientHaloError

# check answers quickly: fewer retries than a sync.
CHECK_RETRIES = 1


def check_connection(config: HaloConfig, logger: logging.Logger) -> Tuple[bool, Optional[str]]:
    client = HaloClient(config, logger, max_retries=CHECK_RETRIES, after_giving_up="Test the connection again in a few minutes.")
    try:
        body = client.get(endpoints.TICKETS.path, endpoints.TICKETS.page_params(1, 1))
        if not body.get("record_count") and not body.get("tickets"):
            return False, (
                f"Connected to {config.describe_instance()}, but Halo returned no tickets. The agent that the API "
                "application runs as may lack access to tickets: in Halo, check the application's 'Agent to log in as' "
                "and that agent's team and ticket-type permissions (or the application's scope), then retry."
            )
        if config.ticket_types:
            check_ticket_types(config, client.get(endpoints.TICKET_TYPES.path, dict(endpoints.TICKET_TYPES.params)))
    except AirbyteTracedException as exc:
        return False, exc.message
    logger.info(f"Connected to {config.describe_instance()}; read one ticket.")
    return True, None


def check_ticket_types(config: HaloConfig, types: Any) -> None:
    """Every configured type_id must be a ticket type Halo lists (a bare array, docs/halo-api.md 4)."""
    known = {int(t["id"]): t.get("name", "") for t in types if isinstance(t, dict) and "id" in t}
    for entry in config.ticket_types:
        if entry.type_id not in known:
            listing = ", ".join(f"{i} ({n})" for i, n in sorted(known.items())) or "none visible"
            raise ConfigError(
                f"Invalid setting 'ticket_types' entry '{entry.name}': type_id {entry.type_id} is not a ticket type "
                f"in Halo. Ticket types visible to the API application: {listing}."
            )


def verify_ticket_types(config: HaloConfig, client: HaloClient, logger: logging.Logger) -> None:
    """Before a read: without this, a mistyped type_id reads as an empty stream, every sync, silently.
    Raises ConfigError naming the entry only when Halo listed its ticket types and the id is not among
    them. If the list cannot be had, the read goes on unverified and the streams' own retries and
    messages deal with Halo."""
    if not config.ticket_types:
        return
    try:
        types = client.get(endpoints.TICKET_TYPES.path, dict(endpoints.TICKET_TYPES.params))
    except (ConfigError, TransientHaloError) as exc:
        logger.warning(f"Could not verify the ticket_types' type ids before reading: {exc.message}")
        return
    check_ticket_types(config, types)
