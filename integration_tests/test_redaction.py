"""Redaction end to end: the installed console script reads tickets (every custom field) and actions
(with their HTML bodies) from the simulator, which plants known personal data in some tickets' summary
and details, some action notes and a text custom field (halo_simulator/data.py, PLANTED_PII), with
near misses beside it. At debug log level (`--debug`, LOG_LEVEL=DEBUG, which prints every response
body unless redaction is on):

- without redaction, every planted value is in the output (so the test can see a leak);
- with every detector on, none is anywhere on stdout or stderr, every near miss is still there, and the
  dropped fields are in no record and no discovered schema.
"""
from __future__ import annotations

import json

import pytest

from integration_tests.halo_simulator.data import PLANTED_NEAR_MISSES, PLANTED_PII
from integration_tests.harness import catalog, run_console_script, sim_config

pytestmark = pytest.mark.usefixtures("time_limit")

DEBUG_ENV = {"LOG_LEVEL": "DEBUG", "SOURCE_HALOITSM_BACKOFF_SCALE": "0.01"}
DROPPED = ["user_email", "reportedby", "emailtolist", "emailfrom", "emailto", "CFcallbackNumber"]
REDACTION = {"drop_fields": DROPPED, "detectors": ["email", "phone", "payment_card", "iban", "ip_address"]}
PLANTED = [value for values in PLANTED_PII.values() for value in values]


def _forms(value: str) -> list:
    """How a value can appear in output: as is, JSON-escaped (ensure_ascii) and HTML-escaped."""
    return list({value, json.dumps(value)[1:-1], value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")})


def _read(sim, workdir, **settings):
    config = sim_config(sim, custom_fields=["all"], actions_html=True, page_size=100, **settings)
    out = run_console_script("read", config, workdir, catalog("tickets", "actions"), extra_args=["--debug"], env=DEBUG_ENV,
                             timeout=300)
    assert out.returncode == 0 and not out.errors, (out.errors, out.stderr[-2000:])
    return config, out


def test_no_planted_personal_data_leaves_the_connector(simulator, tmp_path):
    sim = simulator(tickets=500, seed=42)

    _, plain = _read(sim, tmp_path / "plain")
    text = plain.raw + plain.stderr
    assert [v for v in PLANTED if not any(f in text for f in _forms(v))] == [], "the simulator did not plant every value"

    config, red = _read(sim, tmp_path / "redacted", redaction=REDACTION)
    text = red.raw + red.stderr
    assert len(red.records_of("tickets")) == len(plain.records_of("tickets")) > 0
    assert len(red.records_of("actions")) == len(plain.records_of("actions")) > 0
    leaks = [v for v in PLANTED if any(f in text for f in _forms(v))]
    assert leaks == [], f"planted personal data on stdout/stderr: {leaks}"
    assert [n for n in PLANTED_NEAR_MISSES if n not in text] == [], "a near miss was masked"
    records = red.records_of("tickets") + red.records_of("actions")
    assert all(not {"user_email", "reportedby", "emailtolist", "emailfrom", "emailto", "cf_callback_number"} & set(r) for r in records)
    assert all(e["id"] != 168 for r in red.records_of("tickets") for e in r.get("customfields") or [])  # CFcallbackNumber
    for kind in ("[email]", "[phone]", "[card]", "[iban]", "[ip]"):
        assert any(kind in json.dumps(r) for r in records), kind
    # the debug log says a body was withheld rather than printing it
    assert "withheld: redaction is on" in text and "Receiving response" in text

    discovered = run_console_script("discover", config, tmp_path / "discover", env=DEBUG_ENV, timeout=120)
    schemas = {s["name"]: s["json_schema"]["properties"] for s in discovered.of_type("CATALOG")[0]["catalog"]["streams"]}
    assert not {"user_email", "reportedby", "emailtolist", "cf_callback_number"} & set(schemas["tickets"])
    assert not {"emailfrom", "emailto"} & set(schemas["actions"])
    assert {"summary", "details", "cf_internal_notes"} <= set(schemas["tickets"]) and "note" in schemas["actions"]
