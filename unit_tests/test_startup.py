"""source_haloitsm/startup.py: loading the CDK without the parts the connector does not use changes no
message, and leaves every name of the CDK package reachable. Each case runs in a fresh interpreter:
the hooks act before the CDK is imported, and this test process has it loaded already."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Messages of every kind the connector writes, serialised by the CDK's own serializer, and a state
# and a catalog read back by it.
PROGRAM = textwrap.dedent(
    """
    import json, logging, sys
    from source_haloitsm import startup
    if sys.argv[1] == "prepared":
        startup.prepare()
    from airbyte_cdk.entrypoint import AirbyteEntrypoint
    from airbyte_cdk.models import (AirbyteConnectionStatus, AirbyteErrorTraceMessage, AirbyteLogMessage,
        AirbyteMessage, AirbyteStateMessageSerializer, AirbyteTraceMessage, ConfiguredAirbyteCatalogSerializer,
        FailureType, Level, Status, TraceType, Type)
    from source_haloitsm.source import SourceHaloitsm

    source = SourceHaloitsm()
    state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "tickets"},
             "stream_state": {"last_update": "2026-01-01T00:00:00+00:00", "look_back": {"7": "x"}}},
             "sourceStats": {"recordCount": 12.0}}
    catalog = {"streams": [{"stream": {"name": "tickets", "json_schema": {"type": "object"},
               "supported_sync_modes": ["full_refresh", "incremental"], "source_defined_cursor": True,
               "default_cursor_field": ["last_update"]}, "sync_mode": "incremental",
               "destination_sync_mode": "append_dedup", "cursor_field": ["last_update"], "primary_key": [["id"]]}]}
    messages = [
        AirbyteMessage(type=Type.SPEC, spec=source.spec(logging.getLogger("t"))),
        AirbyteMessage(type=Type.LOG, log=AirbyteLogMessage(level=Level.WARN, message="waiting 30 s")),
        AirbyteMessage(type=Type.TRACE, trace=AirbyteTraceMessage(type=TraceType.ERROR, emitted_at=1.0,
            error=AirbyteErrorTraceMessage(message="setting x", internal_message=None, failure_type=FailureType.config_error))),
        AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=AirbyteConnectionStatus(status=Status.FAILED, message="no")),
        AirbyteMessage(type=Type.STATE, state=AirbyteStateMessageSerializer.load(state)),
    ]
    out = [AirbyteEntrypoint.airbyte_message_to_string(m) for m in messages]
    out.append(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(ConfiguredAirbyteCatalogSerializer.load(catalog)), sort_keys=True))
    loaded = [name for name in sys.modules if name.startswith("airbyte_cdk.sources.declarative")]
    print(json.dumps({"messages": out, "declarative_loaded": len(loaded)}))
    """
)


def _run(program: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_messages_are_serialised_identically_with_the_cdk_loaded_lazily():
    plain = _run(PROGRAM, "plain")
    prepared = _run(PROGRAM, "prepared")
    assert prepared["messages"] == plain["messages"]
    assert len(plain["messages"]) == 6 and '"config_error"' in plain["messages"][2]
    # What the preparation is for: the declarative framework is not loaded by the connector's imports.
    assert plain["declarative_loaded"] > 0
    assert prepared["declarative_loaded"] == 0


def test_every_name_of_the_cdk_package_is_still_reachable():
    program = textwrap.dedent(
        """
        import json, sys
        from source_haloitsm import startup
        assert startup.prepare() is None
        import source_haloitsm.entrypoint
        before = "airbyte_cdk.sources.declarative" in sys.modules
        from airbyte_cdk import AirbyteEntrypoint, AirbyteTracedException, OneOfOptionConfig  # the real __init__ runs
        import airbyte_cdk, airbyte_cdk.entrypoint, airbyte_cdk.utils.traced_exception
        same = (AirbyteEntrypoint is airbyte_cdk.entrypoint.AirbyteEntrypoint
                and AirbyteTracedException is airbyte_cdk.utils.traced_exception.AirbyteTracedException)
        try:
            airbyte_cdk.NoSuchName
            missing = "no error"
        except AttributeError as error:
            missing = str(error)
        print(json.dumps({"before": before, "same": same, "missing": missing,
                          "after": "airbyte_cdk.sources.declarative" in sys.modules}))
        """
    )
    result = _run(program)
    assert result == {"before": False, "same": True, "after": True,
                      "missing": "module 'airbyte_cdk' has no attribute 'NoSuchName'"}


@pytest.mark.parametrize("command", ["spec", "check"])
def test_the_console_entry_point_runs_with_the_preparation(command):
    """run.run (the console script and the image's main.py) prepares, then runs the connector: `spec`,
    and a `check` that reaches the error path (nothing listens on the configured port)."""
    program = "import sys; from source_haloitsm.run import run; run(sys.argv[1:])"
    args = [command] if command == "spec" else [command, "--config", str(ROOT / "integration_tests/invalid_config_unreachable.json")]
    done = subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    last = json.loads(done.stdout.splitlines()[-1])
    if command == "spec":
        assert last["type"] == "SPEC"
    else:
        assert last["type"] == "CONNECTION_STATUS" and last["connectionStatus"]["status"] == "FAILED"
        assert "base_url" in last["connectionStatus"]["message"]
