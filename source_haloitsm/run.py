"""Console script `source-haloitsm` and the image's entry point.

Runs the CDK's entrypoint with two changes: the configuration is validated by the connector's own
validator, whose messages name the setting and say what to do, instead of a bare JSON-schema message;
and output is flushed at every non-record message.
"""
from __future__ import annotations

import sys
from typing import List, Optional

from airbyte_cdk.entrypoint import PRINT_BUFFER, AirbyteEntrypoint

from source_haloitsm.config import parse_config
from source_haloitsm.source import SourceHaloitsm


class HaloEntrypoint(AirbyteEntrypoint):
    @staticmethod
    def validate_connection(source_spec, config) -> None:
        from airbyte_cdk.sources.utils.schema_helpers import split_config

        connector_config, _ = split_config(config)
        parse_config(connector_config)  # raises ConfigError (a config_error) naming the setting


def run(args: Optional[List[str]] = None) -> None:
    source = SourceHaloitsm()
    argv = sys.argv[1:] if args is None else args
    entrypoint = HaloEntrypoint(source)
    parsed = entrypoint.parse_args(argv)
    with PRINT_BUFFER:
        for message in entrypoint.run(parsed):
            # Records go out with the CDK's 0.1 s buffer; every other message (state, log, trace) is
            # flushed at once, and with it the records before it: nothing sits in a buffer while the
            # connector waits out a back-off, or is lost if the process is killed during one.
            print(f"{message}\n", end="", flush=not message.startswith('{"type":"RECORD"'))
