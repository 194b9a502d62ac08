"""Console script `source-haloitsm` and the image's entry point.

Runs the CDK's entrypoint with three changes:
- the configuration is validated by the connector's own validator, whose messages name the setting
  and say what to do, instead of a bare JSON-schema message;
- RECORD messages are written with every field Halo sent, nulls included: the CDK's message
  serializer (`AirbyteMessageSerializer`, airbyte-cdk 7.39.1) drops top-level `None` values from
  record data, so a destination could not tell "null" from "not sent". Every other message, and the
  record counts on STATE messages (`handle_record_counts`), stay the CDK's;
- output is flushed at every non-record message, so nothing sits in a buffer while the connector
  waits, or is lost if the process is killed during a wait.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from typing import Iterable, List, Optional

import orjson
from airbyte_cdk.entrypoint import PRINT_BUFFER, AirbyteEntrypoint
from airbyte_cdk.logger import is_platform_debug_log_enabled
from airbyte_cdk.models import AirbyteMessage, Type
from airbyte_cdk.utils.constants import ENV_REQUEST_CACHE_PATH

from source_haloitsm.config import parse_config
from source_haloitsm.source import SourceHaloitsm


def serialize(message: AirbyteMessage) -> str:
    if message.type == Type.RECORD and message.record is not None:
        record = message.record
        body = {"stream": record.stream, "data": record.data, "emitted_at": record.emitted_at}
        if record.namespace is not None:
            body["namespace"] = record.namespace
        return orjson.dumps({"type": "RECORD", "record": body}).decode()
    return AirbyteEntrypoint.airbyte_message_to_string(message)


class HaloEntrypoint(AirbyteEntrypoint):
    @staticmethod
    def validate_connection(source_spec, config) -> None:
        from airbyte_cdk.sources.utils.schema_helpers import split_config

        connector_config, _ = split_config(config)
        parse_config(connector_config)  # raises ConfigError (a config_error) naming the setting

    def run(self, parsed_args: argparse.Namespace) -> Iterable[str]:
        if parsed_args.command != "read":
            yield from super().run(parsed_args)
            return
        # The CDK's `run` for `read`, with `serialize` for the messages.
        if getattr(parsed_args, "debug", False) or is_platform_debug_log_enabled():
            self.logger.setLevel(logging.DEBUG)
            logging.getLogger("airbyte").setLevel(logging.DEBUG)
            self.logger.debug("Debug logs enabled")
        else:
            self.logger.setLevel(logging.INFO)
        source_spec = self.source.spec(self.logger)
        try:
            with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as temp_dir:
                os.environ[ENV_REQUEST_CACHE_PATH] = temp_dir
                config = self.source.configure(self.source.read_config(parsed_args.config), temp_dir)
                yield from map(serialize, self._emit_queued_messages(self.source))
                catalog = self.source.read_catalog(parsed_args.catalog)
                state = self.source.read_state(parsed_args.state)
                yield from map(serialize, self.read(source_spec, config, catalog, state))
        finally:
            yield from map(serialize, self._emit_queued_messages(self.source))


def run(args: Optional[List[str]] = None) -> None:
    source = SourceHaloitsm()
    argv = sys.argv[1:] if args is None else args
    entrypoint = HaloEntrypoint(source)
    parsed = entrypoint.parse_args(argv)
    with PRINT_BUFFER:
        for message in entrypoint.run(parsed):
            # Records go out with the CDK's 0.1 s buffer; every other message (state, log, trace) is
            # flushed at once, and with it the records before it.
            print(f"{message}\n", end="", flush=not message.startswith('{"type":"RECORD"'))
