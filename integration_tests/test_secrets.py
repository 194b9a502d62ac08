"""Nothing leaked: the client secret and every access token the simulator issued never appear on
stdout or stderr of spec, check, discover or read, at debug log level too (`--debug` and
LOG_LEVEL=DEBUG), also when Halo echoes them in error bodies (the simulator's `echo_secrets` switch
with faults: 401 from the token endpoint, 500 bodies that echo the client secret or the bearer
token, 502 pages and HTML answers that echo them, 401s for used-up tokens that name the token).

Everything runs through the installed console script, as users run it.
"""
from __future__ import annotations

import secrets

import pytest

from integration_tests.harness import catalog, run_console_script, sim_config

pytestmark = pytest.mark.usefixtures("time_limit")

DEBUG_ENV = {"LOG_LEVEL": "DEBUG", "SOURCE_HALOITSM_BACKOFF_SCALE": "0.01"}
COMMANDS = ("spec", "check", "discover", "read")


def _secret() -> str:
    return "Sx-" + secrets.token_urlsafe(24)


def _config(sim, client_secret: str, **overrides) -> dict:
    config = sim_config(
        sim,
        client_secret=client_secret,
        max_retries=3,
        request_timeout=5,
        page_size=50,
        parallel_requests=2,
        ticket_types=[{"name": "incidents", "type_id": 1}, {"name": "changes", "type_id": 4, "fields": ["summary"]}],
    )
    config.update(overrides)
    return config


def _run_all(config: dict, workdir, commands=COMMANDS) -> list:
    """(command, output) of each command, with --debug and LOG_LEVEL=DEBUG."""
    runs = []
    for command in commands:
        out = run_console_script(
            command,
            config if command != "spec" else {},
            workdir / command,
            catalog(*([t["name"] for t in config.get("ticket_types") or []] or ["tickets"])) if command == "read" else None,
            extra_args=["--debug"],
            env=DEBUG_ENV,
            timeout=120,
        )
        runs.append((command, out))
    return runs


def _fragments(value: str) -> list:
    """The value and a long piece of its middle: a truncated echo must not leak either."""
    return [value, value[len(value) // 4: len(value) // 4 + 16]]


def _assert_nothing_leaked(runs, sim, client_secret: str) -> None:
    leaks = []
    tokens = list(sim.issued_tokens)
    for command, out in runs:
        for stream_name, text in (("stdout", out.raw), ("stderr", out.stderr)):
            for label, value in [("client_secret", client_secret)] + [(f"token #{i}", t) for i, t in enumerate(tokens)]:
                if any(fragment in text for fragment in _fragments(value)):
                    leaks.append(f"{label} on {stream_name} of {command}")
    assert not leaks, leaks


def _debug_output_was_on(runs) -> None:
    # The runs really were at debug level: the CDK's debug lines are there.
    text = "".join(out.raw + out.stderr for _, out in runs)
    assert '"level":"DEBUG"' in text.replace(" ", ""), "no DEBUG log line: debug level was not on"


def test_no_secret_or_token_in_any_output_when_halo_echoes_them(simulator, tmp_path):
    """A working read with faults on: 500s echoing the bearer token, 502 and HTML pages echoing it,
    tokens used up after a few requests (401 naming the token), and a 500 from the token endpoint
    echoing the client secret."""
    client_secret = _secret()
    sim = simulator(
        tickets=600, seed=41, client_secret=client_secret, echo_secrets=True, token_max_uses=6, fault_seed=3,
        faults=["500:p=0.08", "502:p=0.05", "html:p=0.05", "503:p=0.05", "500:on=2:auth=true:path=/auth"],
    )
    runs = _run_all(_config(sim, client_secret), tmp_path)
    outputs = dict(runs)
    assert outputs["check"].connection_status["status"] == "SUCCEEDED", outputs["check"].connection_status
    read = outputs["read"]
    assert read.returncode == 0 and read.records, read.stderr[-2000:]
    assert len(sim.issued_tokens) >= 3
    kinds = {e["fault"] or e["status"] for e in sim.request_log}
    assert {"500", "502", "html", 401} <= kinds, f"not every echoing answer happened: {kinds}"
    _debug_output_was_on(runs)
    _assert_nothing_leaked(runs, sim, client_secret)


def test_no_secret_in_output_when_the_token_endpoint_rejects_and_echoes_it(simulator, tmp_path):
    """Wrong credentials: Halo's 401 invalid_client body echoes the client secret that was sent."""
    wrong_secret = _secret()
    sim = simulator(tickets=50, seed=42, client_secret=_secret(), echo_secrets=True)
    runs = _run_all(_config(sim, wrong_secret), tmp_path, commands=("check", "discover", "read"))
    outputs = dict(runs)
    assert outputs["check"].connection_status["status"] == "FAILED"
    assert "client_secret" in outputs["check"].connection_status["message"]
    assert outputs["read"].errors and outputs["read"].errors[-1]["failure_type"] == "config_error"
    assert any(e["status"] == 401 and e["path"].startswith("/auth") for e in sim.request_log)
    _assert_nothing_leaked(runs, sim, wrong_secret)


def test_no_secret_in_output_when_the_token_endpoint_keeps_failing_with_echo(simulator, tmp_path):
    """Every token request answers 500 with a body that echoes the client secret; check and read
    fail after their retries, and say so without the body's secret."""
    client_secret = _secret()
    sim = simulator(tickets=50, seed=43, client_secret=client_secret, echo_secrets=True,
                    faults=["500:auth=true:path=/auth"])
    runs = _run_all(_config(sim, client_secret), tmp_path, commands=("check", "read"))
    outputs = dict(runs)
    assert outputs["check"].connection_status["status"] == "FAILED"
    assert outputs["read"].errors
    _assert_nothing_leaked(runs, sim, client_secret)


def test_no_token_in_output_when_every_api_answer_echoes_it(simulator, tmp_path):
    """The API answers 500 echoing the bearer token until the read gives up."""
    client_secret = _secret()
    sim = simulator(tickets=50, seed=44, client_secret=client_secret, echo_secrets=True, faults=["500"])
    # no ticket_types: the read goes straight to /api/Tickets
    runs = _run_all(_config(sim, client_secret, max_retries=1, ticket_types=[]), tmp_path, commands=("check", "read"))
    outputs = dict(runs)
    assert outputs["check"].connection_status["status"] == "FAILED"
    assert outputs["read"].errors
    assert sim.issued_tokens
    _assert_nothing_leaked(runs, sim, client_secret)
