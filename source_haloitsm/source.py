"""SourceHaloitsm: wiring only. Configuration, auth, streams and check live in their own modules."""
from __future__ import annotations

import logging
from typing import Any, Iterator, List, Mapping, Optional, Tuple

from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, ConfiguredAirbyteCatalog, Status
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream

from source_haloitsm.auth import HaloTokenProvider
from source_haloitsm.check import check_connection, verify_ticket_types
from source_haloitsm.config import ConfigError, migrate, parse_config
from source_haloitsm.rate_limit import request_budget
from source_haloitsm.streams import TicketsStream


class SourceHaloitsm(AbstractSource):
    def configure(self, config: Mapping[str, Any], temp_dir: str) -> Mapping[str, Any]:
        # Older configs declare ticket_types as a map; the spec (for the UI form) declares a list.
        return migrate(config)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        # The CDK's check() shows the reason as repr(), in quotes with escapes: show it as written.
        succeeded, message = self.check_connection(logger, config)
        if succeeded:
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        return AirbyteConnectionStatus(status=Status.FAILED, message=str(message))

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[Any]]:
        try:
            halo_config = parse_config(config)
        except ConfigError as exc:
            return False, exc.message
        return check_connection(halo_config, logger)

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: Optional[Any] = None,
    ) -> Iterator[AirbyteMessage]:
        # An unknown type_id would read as an empty stream: fail with a config_error instead.
        halo_config = parse_config(config)
        selected = {entry.stream.name for entry in catalog.streams}
        if any(t.name in selected for t in halo_config.ticket_types):
            verify_ticket_types(halo_config, logger, *self._budget_and_auth(halo_config))
        yield from super().read(logger, config, catalog, state)

    def _budget_and_auth(self, halo_config) -> tuple:
        """One request budget and one token provider per configuration, shared by everything a read sends."""
        shared = getattr(self, "_shared", None)
        if shared is None or shared[0] != halo_config:
            budget = request_budget(halo_config.rate_limit)
            shared = self._shared = (halo_config, budget, HaloTokenProvider(halo_config, budget))
        return shared[1], shared[2]

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        halo_config = parse_config(config)
        budget, auth = self._budget_and_auth(halo_config)
        if not halo_config.ticket_types:
            return [TicketsStream(halo_config, auth, budget)]
        return [
            TicketsStream(halo_config, auth, budget, name=entry.name, type_id=entry.type_id, fields=entry.fields)
            for entry in halo_config.ticket_types
        ]
