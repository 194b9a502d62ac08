"""SourceHaloitsm: wiring only. Configuration, the HTTP client, streams and check live in their own
modules.

A read shares one `ReadContext` (client, budget, token, workers) among its streams, and begins every
selected stream before the CDK emits the first one, so streams further down the catalog use idle
workers instead of waiting their turn.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator, List, Mapping, Optional, Tuple

from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, ConfiguredAirbyteCatalog, Status
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.streams import Stream

from source_haloitsm.check import check_connection, verify_ticket_types
from source_haloitsm.client import HaloClient
from source_haloitsm.config import ConfigError, HaloConfig, migrate, parse_config
from source_haloitsm.scheduler import Scheduler
from source_haloitsm import custom_fields, endpoints
from source_haloitsm.streams import REFERENCE_STREAMS, Actions, HaloStream, ReadContext, TicketsStream


class SourceHaloitsm(AbstractSource):
    def __init__(self) -> None:
        super().__init__()
        self._built: Optional[Tuple[HaloConfig, ReadContext, List[HaloStream]]] = None
        # Set by the connector's own entry point (run.py), which writes records.RecordBatch messages.
        self.emit_record_batches = False

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

    def _build(self, config: Mapping[str, Any]) -> Tuple[ReadContext, List[HaloStream]]:
        halo_config = parse_config(config)
        if self._built is None or self._built[0] != halo_config:
            client = HaloClient(halo_config)
            context = ReadContext(
                halo_config, client, Scheduler(halo_config.parallel_requests), batch_records=self.emit_record_batches
            )
            if halo_config.custom_fields:
                # The tickets' schema and requests need the fields' ids and types (one request).
                available = custom_fields.definitions(client.get(endpoints.FIELD_INFO.path))
                context.custom_fields = custom_fields.resolve(halo_config.custom_fields, available)
            tickets: List[HaloStream] = (
                [TicketsStream(context, entry=entry) for entry in halo_config.ticket_types]
                if halo_config.ticket_types
                else [TicketsStream(context)]
            )
            self._built = (halo_config, context, tickets + [Actions(context)] + [stream(context) for stream in REFERENCE_STREAMS])
        return self._built[1], self._built[2]

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        return list(self._build(config)[1])

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: Optional[Any] = None,
    ) -> Iterator[AirbyteMessage]:
        context, streams = self._build(config)
        try:
            by_name = {s.name: s for s in streams}
            selected = [entry for entry in catalog.streams if entry.stream.name in by_name]
            # A ticket type given by name needs its id; an unknown id would read as an empty stream.
            if any(isinstance(by_name[e.stream.name], TicketsStream) and by_name[e.stream.name].entry for e in selected):
                context.ticket_type_ids.update(verify_ticket_types(context.config, context.client, logger))
            state_manager = ConnectorStateManager(state)
            for rank, entry in enumerate(selected):
                stream = by_name[entry.stream.name]
                stream.rank = rank
                stream.state = state_manager.get_stream_state(stream.name, stream.namespace)
                stream.begin(entry.sync_mode)
            yield from super().read(logger, config, catalog, state)
        finally:
            context.scheduler.close()
            self._built = None
