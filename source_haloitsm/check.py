"""`check`: get a token and read one ticket, and say exactly what is wrong when that fails; when set,
also resolve the `ticket_types` entries against Halo's ticket types and the `custom_fields` against its
custom field definitions. Three requests when one of those is set, four when both. Everything goes
through the same client and answer table as a read (client.py, responses.py), with fewer retries."""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Tuple

from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_haloitsm import custom_fields, endpoints
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
            resolve_ticket_types(config, client.get(endpoints.TICKET_TYPES.path, dict(endpoints.TICKET_TYPES.params)))
        if config.custom_fields:
            custom_fields.resolve(config.custom_fields, custom_fields.definitions(client.get(endpoints.FIELD_INFO.path)))
    except AirbyteTracedException as exc:
        return False, exc.message
    logger.info(f"Connected to {config.describe_instance()}; read one ticket.")
    return True, None


def resolve_ticket_types(config: HaloConfig, types: Any) -> Dict[str, int]:
    """stream name -> Halo ticket type id, for every `ticket_types` entry, from `/api/TicketType`'s list
    (a bare array, docs/halo-api.md 4). An entry may name its type by id or by name (any case). Raises
    ConfigError naming the entry and listing the types Halo has when one is not among them."""
    known = {int(t["id"]): str(t.get("name", "")) for t in types if isinstance(t, dict) and "id" in t}
    by_name: Dict[str, int] = {}
    for type_id, name in sorted(known.items()):
        by_name.setdefault(name.strip().lower(), type_id)
    resolved = {}
    for entry in config.ticket_types:
        type_id = entry.type_id if entry.type_id is not None else by_name.get((entry.type_name or "").strip().lower())
        if type_id not in known:
            listing = ", ".join(f"{i} ({n})" for i, n in sorted(known.items())) or "none visible"
            raise ConfigError(
                f"Invalid setting 'ticket_types' entry '{entry.name}': {entry.describe()} is not a ticket type "
                f"in Halo. Ticket types visible to the API application: {listing}."
            )
        resolved[entry.name] = type_id
    return resolved


def verify_ticket_types(config: HaloConfig, client: HaloClient, logger: logging.Logger) -> Dict[str, int]:
    """Before a read: every `ticket_types` entry must be a type Halo knows. Without this, a mistyped id
    reads as an empty stream, every sync, silently. Raises ConfigError naming the entry when Halo listed
    its ticket types and the entry is not among them. If the list cannot be had, a read of entries
    given by id goes on unverified (the streams' own retries and messages deal with Halo); entries given
    by name cannot be read without it, and the read stops as transient."""
    if not config.ticket_types:
        return {}
    try:
        types = client.get(endpoints.TICKET_TYPES.path, dict(endpoints.TICKET_TYPES.params))
    except (ConfigError, TransientHaloError) as exc:
        if any(entry.type_id is None for entry in config.ticket_types):
            raise
        logger.warning(f"Could not verify the ticket_types' type ids before reading: {exc.message}")
        return {entry.name: entry.type_id for entry in config.ticket_types}  # type: ignore[misc]
    return resolve_ticket_types(config, types)
