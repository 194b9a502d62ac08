"""The connector's entry point (run.py starts it): the CDK's entrypoint with three changes:
- the configuration is validated by the connector's own validator, whose messages name the setting
  and say what to do, instead of a bare JSON-schema message;
- RECORD messages are written with every field Halo sent, nulls included: the CDK's message
  serializer (`AirbyteMessageSerializer`, airbyte-cdk 7.39.1) drops top-level `None` values from
  record data, so a destination could not tell "null" from "not sent". Records travel through the
  CDK a page at a time (`records.RecordBatch`) and are written one line each; `handle_record_counts`
  counts every record, so `sourceStats.recordCount` on STATE messages stays exact. Every other
  message stays the CDK's;
- output is written in blocks and flushed at every non-record message (`Output`), so nothing sits
  in a buffer while the connector waits, or is lost if the process is killed during a wait.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import threading
import time
from typing import Any, Iterable, Iterator, List, Optional, Union

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.logger import is_platform_debug_log_enabled
from airbyte_cdk.models import AirbyteMessage, Type
from airbyte_cdk.sources.connector_state_manager import HashableStreamDescriptor
from airbyte_cdk.utils.constants import ENV_REQUEST_CACHE_PATH

from source_haloitsm import waits
from source_haloitsm.config import parse_config
from source_haloitsm.records import RecordBatch
from source_haloitsm.source import SourceHaloitsm


def serialize(message: AirbyteMessage) -> Union[str, bytes]:
    """One message as Airbyte protocol JSON. A page of records (records.RecordBatch) becomes one RECORD
    line per record, as bytes, so it is never decoded and encoded again on its way out."""
    if message.type == Type.RECORD and message.record is not None:
        record = message.record
        namespace = f',"namespace":{orjson.dumps(record.namespace).decode()}' if record.namespace is not None else ""
        head = f'{{"type":"RECORD","record":{{"stream":{orjson.dumps(record.stream).decode()}{namespace},"emitted_at":{int(record.emitted_at)},"data":'
        if isinstance(record, RecordBatch):
            start, dumps = head.encode(), orjson.dumps
            return b"\n".join([start + dumps(row) + b"}}" for row in record.rows])
        return f"{head}{orjson.dumps(record.data).decode()}}}}}"
    return AirbyteEntrypoint.airbyte_message_to_string(message)


class Output:
    """The connector's one writer to stdout: messages from the entry point, log lines from the CDK's
    logging handler and anything printed, all under one lock, so no line is ever cut into another.
    Record lines are collected and written in large blocks; anything else (state, log, trace) is
    written at once, after the records before it, and flushed, so nothing sits in a buffer while the
    connector waits, or is lost if the process is killed during a wait."""

    BLOCK = 1 << 16

    def __init__(self, stream: Any):
        self._bytes = stream.buffer
        self._blocks: List[bytes] = []
        self._size = 0
        self._last_flush = time.monotonic()
        self._lock = threading.RLock()  # a worker about to wait flushes too (waits.flush_output)

    def message(self, message: Union[str, bytes]) -> None:
        """One message (or a page of record lines) from the entry point, without its newline."""
        with self._lock:
            if isinstance(message, bytes) or message.startswith('{"type":"RECORD"'):
                block = message if isinstance(message, bytes) else message.encode()
                self._blocks.append(block + b"\n")
                self._size += len(block)
                if self._size < self.BLOCK and time.monotonic() - self._last_flush < 0.1:
                    return
            else:
                self._blocks.append(message.encode() + b"\n")
            self._flush()

    def write(self, text: str) -> int:
        """Text written by logging or print(), newlines included."""
        with self._lock:
            self._blocks.append(text.encode())
            self._flush()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        if self._blocks:
            self._bytes.write(b"".join(self._blocks))
            self._blocks, self._size = [], 0
        self._bytes.flush()
        self._last_flush = time.monotonic()

    @contextlib.contextmanager
    def installed(self) -> Iterator["Output"]:
        """stdout, stderr and the CDK's log handlers write here while the connector runs."""
        handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
        streams = [h.setStream(self) for h in handlers]
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self  # type: ignore[assignment]
        waits.flush_hooks.append(self.flush)
        try:
            yield self
        finally:
            waits.flush_hooks.remove(self.flush)
            self.flush()
            sys.stdout, sys.stderr = saved
            for handler, stream in zip(handlers, streams):
                handler.setStream(stream)


class BatchCountLineFilter(logging.Filter):
    """With records.RecordBatch the CDK's "Read N records from S stream" counts pages, not records. The
    stream logs its own count of records ("Stream 'S': done: N records ...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (message.startswith("Read ") and message.endswith(" stream") and " records from " in message)


class MemoryMonitorStartLineFilter(logging.Filter):
    """Drops the CDK's "MemoryMonitor instantiated with critical threshold ..." line, logged on every
    command (spec included) and telling a user nothing. airbyte_cdk.utils.memory_monitor logs through
    the shared "airbyte" logger, so its level cannot be raised alone; its warnings still pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.module == "memory_monitor" and record.levelno <= logging.INFO)


class HaloEntrypoint(AirbyteEntrypoint):
    def __init__(self, source: SourceHaloitsm):
        airbyte_logger = logging.getLogger("airbyte")
        if not any(isinstance(f, MemoryMonitorStartLineFilter) for f in airbyte_logger.filters):
            airbyte_logger.addFilter(MemoryMonitorStartLineFilter())
        super().__init__(source)
        source.emit_record_batches = True  # `serialize` and `handle_record_counts` below write them
        source_logger = logging.getLogger(f"airbyte.{source.name}")
        if not any(isinstance(f, BatchCountLineFilter) for f in source_logger.filters):
            source_logger.addFilter(BatchCountLineFilter())

    @staticmethod
    def handle_record_counts(message: AirbyteMessage, stream_message_count: Any) -> AirbyteMessage:
        if message.type == Type.RECORD and isinstance(message.record, RecordBatch):
            batch = message.record
            stream_message_count[HashableStreamDescriptor(name=batch.stream, namespace=batch.namespace)] += float(len(batch.rows))
            return message
        return AirbyteEntrypoint.handle_record_counts(message, stream_message_count)

    @staticmethod
    def validate_connection(source_spec, config) -> None:
        from airbyte_cdk.sources.utils.schema_helpers import split_config

        connector_config, _ = split_config(config)
        parse_config(connector_config)  # raises ConfigError (a config_error) naming the setting

    def run(self, parsed_args: argparse.Namespace) -> Iterable[Union[str, bytes]]:
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


def launch(args: Optional[List[str]] = None) -> None:
    source = SourceHaloitsm()
    argv = sys.argv[1:] if args is None else args
    entrypoint = HaloEntrypoint(source)
    parsed = entrypoint.parse_args(argv)
    with Output(sys.__stdout__).installed() as output:
        for message in entrypoint.run(parsed):
            output.message(message)
