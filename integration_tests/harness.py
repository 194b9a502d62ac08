"""Running the connector the way users do, and reading what it printed.

`run_connector` drives the connector's own entry point in process (what the console script and the
image run); `run_console_script` runs the installed `source-haloitsm` as a subprocess. Both return an
`Output` with the parsed Airbyte messages.
"""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Dict, List, Optional

from source_haloitsm.entrypoint import HaloEntrypoint
from source_haloitsm.source import SourceHaloitsm

ROOT = Path(__file__).resolve().parents[1]


def catalog(*streams: str, sync_mode: str = "full_refresh") -> dict:
    entries = []
    for name in streams:
        entries.append(
            {
                "stream": {
                    "name": name,
                    "json_schema": {},
                    "supported_sync_modes": ["full_refresh", "incremental"],
                    "source_defined_cursor": True,
                    "default_cursor_field": ["last_update"],
                },
                "sync_mode": sync_mode,
                "destination_sync_mode": "append" if sync_mode == "incremental" else "overwrite",
                "cursor_field": ["last_update"],
            }
        )
    return {"streams": entries}


class Output:
    def __init__(self, raw: str, exit_error: Optional[BaseException] = None):
        self.raw = raw
        self.exit_error = exit_error
        self.messages = [json.loads(line) for line in raw.splitlines() if line.startswith("{")]

    def of_type(self, kind: str) -> List[dict]:
        return [m for m in self.messages if m["type"] == kind]

    @property
    def records(self) -> List[dict]:
        return [m["record"]["data"] for m in self.of_type("RECORD")]

    def records_of(self, stream: str) -> List[dict]:
        return [m["record"]["data"] for m in self.of_type("RECORD") if m["record"]["stream"] == stream]

    @property
    def states(self) -> List[dict]:
        return [m["state"] for m in self.of_type("STATE")]

    @property
    def errors(self) -> List[dict]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"]

    @property
    def connection_status(self) -> dict:
        return self.of_type("CONNECTION_STATUS")[0]["connectionStatus"]

    @property
    def logs(self) -> List[str]:
        return [m["log"]["message"] for m in self.of_type("LOG")]


def run_connector(command: str, config: dict, tmp_path, catalog_obj: Optional[dict] = None, state: Optional[list] = None) -> Output:
    """Runs the connector's own entry point (what the console script and the image run) in process."""
    args = _write_args(command, config, Path(tmp_path), catalog_obj, state)
    entrypoint = HaloEntrypoint(SourceHaloitsm())
    buffer = io.StringIO()
    error = None
    # The CDK logs through a StreamHandler bound to the real stdout: point it at the buffer too.
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(buffer) for h in handlers]
    with redirect_stdout(buffer):
        try:
            for message in entrypoint.run(entrypoint.parse_args(args)):
                print(message.decode() if isinstance(message, bytes) else message)
        except Exception as exc:  # the CDK raises after emitting the error TRACE
            error = exc
        finally:
            for handler, stream in zip(handlers, previous):
                handler.setStream(stream)
    raw = buffer.getvalue()
    if error is not None and not any('"type":"TRACE"' in line and '"type":"ERROR"' in line for line in raw.splitlines()):
        # What the CDK's uncaught-exception hook prints for the platform.
        from airbyte_cdk.utils.traced_exception import AirbyteTracedException

        from airbyte_cdk.models import AirbyteMessageSerializer

        traced = error if isinstance(error, AirbyteTracedException) else AirbyteTracedException.from_exception(error)
        raw += json.dumps(AirbyteMessageSerializer.dump(traced.as_sanitized_airbyte_message())) + "\n"
    return Output(raw, error)


def sim_config(sim, **overrides: Any) -> Dict[str, Any]:
    """A connector config for a running simulator, with its demo credentials and no rate limit to
    speak of; `overrides` replace or add settings."""
    config = {
        "base_url": sim.base_url,
        "tenant": "demo",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "rate_limit": 6000,
        "parallel_requests": 4,
    }
    config.update(overrides)
    return config


def _write_args(command: str, config: dict, workdir: Path, catalog_obj: Optional[dict], state: Optional[list]) -> List[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    if command == "spec":
        return ["spec"]
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    args = [command, "--config", str(config_path)]
    if catalog_obj is not None:
        (workdir / "catalog.json").write_text(json.dumps(catalog_obj))
        args += ["--catalog", str(workdir / "catalog.json")]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        args += ["--state", str(workdir / "state.json")]
    return args


def console_script() -> str:
    candidate = Path(sys.executable).parent / "source-haloitsm"
    return str(candidate) if candidate.exists() else "source-haloitsm"


def run_console_script(command: str, config: dict, workdir: Path, catalog_obj: Optional[dict] = None,
                       state: Optional[list] = None, extra_args: Optional[List[str]] = None,
                       env: Optional[Dict[str, str]] = None, timeout: float = 600) -> Output:
    """Runs the installed console script as a subprocess; stdout and stderr are both kept."""
    args = [console_script()] + _write_args(command, config, workdir, catalog_obj, state) + (extra_args or [])
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    out = Output(proc.stdout)
    out.stderr = proc.stderr
    out.returncode = proc.returncode
    return out


def final_state(out: Output) -> List[dict]:
    """The last state message of each stream, in the shape `--state` takes."""
    last: Dict[str, dict] = {}
    for state in out.states:
        last[state["stream"]["stream_descriptor"]["name"]] = state
    return [{"type": "STREAM", "stream": {"stream_descriptor": s["stream"]["stream_descriptor"], "stream_state": s["stream"]["stream_state"]}} for s in last.values()]
