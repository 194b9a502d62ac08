"""SourceHaloitsm: wiring only. Configuration, auth, streams and check live in their own modules."""
from __future__ import annotations

import logging
from typing import Any, List, Mapping, Optional, Tuple

from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream

from source_haloitsm.auth import HaloTokenProvider
from source_haloitsm.check import check_connection
from source_haloitsm.config import ConfigError, migrate, parse_config
from source_haloitsm.rate_limit import request_budget
from source_haloitsm.streams import TicketsStream


class SourceHaloitsm(AbstractSource):
    def configure(self, config: Mapping[str, Any], temp_dir: str) -> Mapping[str, Any]:
        # Older configs declare ticket_types as a map; the spec (for the UI form) declares a list.
        return migrate(config)

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[Any]]:
        try:
            halo_config = parse_config(config)
        except ConfigError as exc:
            return False, exc.message
        return check_connection(halo_config, logger)

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        halo_config = parse_config(config)
        budget = request_budget(halo_config.rate_limit)
        auth = HaloTokenProvider(halo_config, budget)
        if not halo_config.ticket_types:
            return [TicketsStream(halo_config, auth, budget)]
        return [
            TicketsStream(halo_config, auth, budget, name=entry.name, type_id=entry.type_id, fields=entry.fields)
            for entry in halo_config.ticket_types
        ]
