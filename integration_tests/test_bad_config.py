"""Bad configuration through the entry points users run: every setting, wrong in every way the spec
can tell (type, format, range, missing), plus what only Halo can tell (credentials, scope, an unknown
ticket type id) against the simulator.

For each case: `check` answers FAILED and `read` ends with a TRACE error of failure_type
`config_error`; both messages name the setting and are sentences, never a Python traceback. Every
case runs the connector's entry point in process; a selection also runs the installed console
script as a subprocess (what the image and users run).

unit_tests/test_config.py covers `parse_config` itself; this file goes through the entry points.
"""
from __future__ import annotations

import copy

import pytest

from integration_tests.harness import catalog, run_connector, run_console_script, sim_config

pytestmark = pytest.mark.usefixtures("time_limit")

_DROP = object()

# (case id, {setting: value or _DROP}, setting the message must name, run through the console script too)
CASES = [
    ("base_url-missing", {"base_url": _DROP}, "base_url", True),
    ("base_url-not-a-string", {"base_url": 8080}, "base_url", False),
    ("base_url-no-scheme", {"base_url": "acme.haloitsm.com"}, "base_url", True),
    ("base_url-with-path", {"base_url": "{sim}/api"}, "base_url", False),
    ("base_url-http-remote-host", {"base_url": "http://acme.haloitsm.com"}, "base_url", True),
    ("tenant-not-a-string", {"tenant": 42}, "tenant", False),
    ("client_id-missing", {"client_id": _DROP}, "client_id", False),
    ("client_id-empty", {"client_id": "  "}, "client_id", False),
    ("client_id-not-a-string", {"client_id": 12345}, "client_id", False),
    ("client_secret-missing", {"client_secret": _DROP}, "client_secret", False),
    ("client_secret-not-a-string", {"client_secret": ["demo-secret"]}, "client_secret", False),
    ("client_secret-wrong", {"client_secret": "not-the-secret"}, "client_secret", True),
    ("scope-not-a-string", {"scope": 7}, "scope", False),
    ("scope-unknown-to-halo", {"scope": "read:nonsense"}, "scope", False),
    ("start_date-format", {"start_date": "2024/01/01"}, "start_date", True),
    ("start_date-not-a-date", {"start_date": "2024-13-45"}, "start_date", False),
    ("start_date-not-a-string", {"start_date": 20240101}, "start_date", False),
    ("start_date-in-future", {"start_date": "2999-01-01"}, "start_date", False),
    ("end_date-format", {"end_date": "31-12-2024"}, "end_date", False),
    ("end_date-before-start_date", {"start_date": "2024-06-01", "end_date": "2024-05-31"}, "end_date", True),
    ("ticket_types-not-a-list", {"ticket_types": "incidents"}, "ticket_types", False),
    ("ticket_types-missing-type_id", {"ticket_types": [{"name": "incidents"}]}, "ticket_types", False),
    ("ticket_types-bad-name", {"ticket_types": [{"name": "my incidents!", "type_id": 1}]}, "ticket_types", False),
    ("ticket_types-type_id-not-int", {"ticket_types": [{"name": "incidents", "type_id": "one"}]}, "ticket_types", False),
    ("ticket_types-type_id-zero", {"ticket_types": [{"name": "incidents", "type_id": 0}]}, "ticket_types", False),
    ("ticket_types-duplicate-name", {"ticket_types": [{"name": "a", "type_id": 1}, {"name": "a", "type_id": 2}]}, "ticket_types", False),
    ("ticket_types-fields-not-a-list", {"ticket_types": [{"name": "incidents", "type_id": 1, "fields": "summary"}]}, "ticket_types", False),
    ("ticket_types-unknown-field", {"ticket_types": [{"name": "incidents", "type_id": 1, "fields": ["summary", "statusid"]}]}, "ticket_types", True),
    ("ticket_types-unknown-key", {"ticket_types": [{"name": "incidents", "type_id": 1, "colour": "red"}]}, "ticket_types", False),
    ("ticket_types-type_id-unknown-to-halo", {"ticket_types": [{"name": "incidents", "type_id": 99}]}, "ticket_types", True),
    ("page_size-zero", {"page_size": 0}, "page_size", False),
    ("page_size-above-100", {"page_size": 101}, "page_size", True),
    ("page_size-not-an-integer", {"page_size": "100"}, "page_size", False),
    ("rate_limit-zero", {"rate_limit": 0}, "rate_limit", False),
    ("rate_limit-too-high", {"rate_limit": 6001}, "rate_limit", False),
    ("request_timeout-zero", {"request_timeout": 0}, "request_timeout", False),
    ("request_timeout-too-high", {"request_timeout": 601}, "request_timeout", False),
    ("request_timeout-fraction", {"request_timeout": 2.5}, "request_timeout", False),
    ("parallel_requests-zero", {"parallel_requests": 0}, "parallel_requests", False),
    ("parallel_requests-too-high", {"parallel_requests": 17}, "parallel_requests", False),
    ("max_retries-negative", {"max_retries": -1}, "max_retries", False),
    ("max_retries-too-high", {"max_retries": 21}, "max_retries", False),
    ("redaction-unknown-key", {"redaction": {"detector": ["email"]}}, "redaction", True),
    ("redaction-unknown-detector", {"redaction": {"detectors": ["emails"]}}, "redaction.detectors[0]", False),
    ("redaction-drop-unknown-field", {"redaction": {"drop_fields": ["usr_email"]}}, "redaction.drop_fields", False),
    ("redaction-drop-primary-key", {"redaction": {"drop_fields": ["id"]}}, "redaction.drop_fields", False),
]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setenv("SOURCE_HALOITSM_BACKOFF_SCALE", "0.01")


@pytest.fixture(scope="module")
def sim():
    from integration_tests.halo_simulator import HaloSimulator

    with HaloSimulator(tickets=200, seed=31) as simulator:
        yield simulator


def bad_config(sim, changes: dict) -> dict:
    config = sim_config(sim, max_retries=1, request_timeout=5)
    for key, value in changes.items():
        if value is _DROP:
            config.pop(key, None)
        else:
            config[key] = value.format(sim=sim.base_url) if isinstance(value, str) else copy.deepcopy(value)
    return config


def streams_of(config: dict) -> list:
    entries = config.get("ticket_types")
    if isinstance(entries, list) and entries and all(isinstance(e, dict) and "name" in e for e in entries):
        return [e["name"] for e in entries]
    return ["tickets"]


def assert_names_setting(message: str, setting: str, context: str) -> None:
    assert message, f"{context}: no message"
    assert setting in message, f"{context}: the message does not name '{setting}': {message}"
    assert "Traceback" not in message and 'File "' not in message, f"{context}: a traceback as the message: {message}"


def assert_rejected(check, read, setting: str, where: str) -> None:
    status = check.connection_status
    assert status["status"] == "FAILED", f"{where} check: {status}"
    assert_names_setting(status.get("message"), setting, f"{where} check")
    errors = read.errors
    assert errors, f"{where} read ended without an error; records: {len(read.records)}"
    assert errors[-1]["failure_type"] == "config_error", f"{where} read: {errors[-1]}"
    assert_names_setting(errors[-1]["message"], setting, f"{where} read")
    assert not read.records, f"{where} read delivered records"


@pytest.mark.parametrize("changes,setting", [pytest.param(c, s, id=i) for i, c, s, _ in CASES])
def test_bad_setting_in_process(sim, tmp_path, changes, setting):
    config = bad_config(sim, changes)
    check = run_connector("check", config, tmp_path / "check")
    read = run_connector("read", config, tmp_path / "read", catalog(*streams_of(config)))
    assert_rejected(check, read, setting, "entry point")


@pytest.mark.parametrize("changes,setting", [pytest.param(c, s, id=i) for i, c, s, sub in CASES if sub])
def test_bad_setting_console_script(sim, tmp_path, changes, setting):
    config = bad_config(sim, changes)
    check = run_console_script("check", config, tmp_path / "check", timeout=60)
    read = run_console_script("read", config, tmp_path / "read", catalog(*streams_of(config)), timeout=60)
    assert check.returncode == 0, check.stderr[-2000:]
    assert_rejected(check, read, setting, "console script")
    assert "Traceback" not in check.stderr, check.stderr[-2000:]


@pytest.mark.parametrize("status,words", [(403, ["403", "read:tickets"]), (404, ["404", "base_url"])])
def test_read_refused_by_halo_is_a_config_error(simulator, tmp_path, status, words):
    """Halo answers the ticket list with 403 (the application or its agent may not read tickets) or
    404 (base_url points at something that is not Halo's API): the read ends at once with a
    config_error saying what to fix, and no state."""
    from integration_tests.halo_simulator.server import Resp, jresp

    sim = simulator(tickets=100, seed=32)
    sim._tickets = lambda q: jresp({"error": "You don't have permissions to access this"}, 403) if status == 403 else Resp(404)
    config = bad_config(sim, {})
    read = run_connector("read", config, tmp_path, catalog("tickets", sync_mode="incremental"))
    assert read.errors and read.errors[-1]["failure_type"] == "config_error", read.errors
    assert all(w in read.errors[-1]["message"] for w in words), read.errors[-1]["message"]
    assert not read.records
    assert not [s for s in read.states if s.get("stream", {}).get("stream_state")]
