"""Airbyte's standard tests (`SourceTestSuiteBase`), in process, against the Halo simulator.

What runs is declared in `acceptance-test-config.yml` at the repository root: one scenario per
config file it lists, each running the command(s) of its section(s): `spec` (config matches the
spec), `connection` (check reports the declared status), `discovery`, and `basic_read` /
`full_refresh` (a full-refresh read returns records that match each stream's schema).

    .venv/bin/python -m pytest -m "not image_tests" integration_tests/test_standard.py

The config files point at `http://127.0.0.1:18765`, the simulator's agreed port, so they also work
by hand against `python -m integration_tests.halo_simulator --port 18765 --tickets 600`. Here one
simulator is started for the whole session, on 18765 when that port is free and on a free port
otherwise (two test runs at once), and every scenario's config is rewritten to point at it; the
scenario ids stay the config file names.

The image variants of these tests (`-m image_tests`) run the container image; they need a container
engine (scripts/container-engine.sh) and are deselected with `-m "not image_tests"`. Their options
must be registered before pytest parses the command line, hence `-p` (`make standard-image`):

    eval "$(scripts/container-engine.sh env)"
    .venv/bin/python -m pytest -p airbyte_cdk.test.standard_tests.pytest_hooks -m image_tests \
        integration_tests/test_standard.py --connector-image=source-haloitsm:dev \
        --read-from-streams=all --read-scenarios=sample_config,config_ticket_types,config_date_range
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from boltons.typeutils import classproperty

from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.models.scenario import REMOVED_ENTRY_KEYS, SCENARIO_SECTIONS
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

from integration_tests.halo_simulator import HaloSimulator
from source_haloitsm.source import SourceHaloitsm

# Registers the suite's command-line options (--connector-image, --read-from-streams...), its
# fixtures and the hook that parametrizes `scenario` from acceptance-test-config.yml.
pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

ROOT = Path(__file__).resolve().parent.parent
CONFIG_BASE_URL = "http://127.0.0.1:18765"
SIMULATOR_PORT = 18765
# Enough for several pages per stream (Problem, the rarest type, gets ~8%), small enough that the
# ~30 reads of the suite take seconds.
SIMULATOR_TICKETS = 600

# The backoff of retried requests (wrong tenant answers 500, a closed port refuses) is scaled down
# so the failing checks answer in well under a second; it changes no decision, only the sleep.
os.environ.setdefault("SOURCE_HALOITSM_BACKOFF_SCALE", "0.01")

_simulator: Optional[HaloSimulator] = None


def simulator() -> HaloSimulator:
    """The session's simulator. Started while pytest collects the tests, because the suite turns
    each config into a test parameter at collection time; stopped by `_stop_simulator`."""
    global _simulator
    if _simulator is None:
        def make(port: int) -> HaloSimulator:
            return HaloSimulator(
                tickets=SIMULATOR_TICKETS,
                seed=42,
                client_id="demo-client",
                client_secret="demo-secret",
                tenant="demo",
                port=port,
            ).start()

        try:
            _simulator = make(SIMULATOR_PORT)
        except OSError:  # port taken, e.g. by a second test run
            _simulator = make(0)
    return _simulator


def point_at_simulator(config: Dict[str, Any], base_url: str) -> Dict[str, Any]:
    """The config with the agreed simulator address replaced by the running simulator's."""
    if config.get("base_url", "").rstrip("/") == CONFIG_BASE_URL:
        return {**config, "base_url": base_url}
    return config


@pytest.fixture(scope="session", autouse=True)
def _stop_simulator():
    yield
    global _simulator
    if _simulator is not None:
        _simulator.stop()
        _simulator = None


def without_cat_only_keys(config: Dict[str, Any]) -> Dict[str, Any]:
    """acceptance-test-config.yml without the keys of an entry that only Airbyte's acceptance tests
    (CAT) read: `expect_records` of each basic_read entry, and any other key of the CDK's
    REMOVED_ENTRY_KEYS. At test_strictness_level high CAT requires `expect_records`, and the standard
    tests reject it (they do not compare records with a file, so a key asking for that would look like
    a check that never runs); one file serves both, with the key dropped here. What CAT checks with it
    is also checked in process: test_cat_records.py."""
    config = copy.deepcopy(config)
    for section in SCENARIO_SECTIONS:
        for entry in (config["acceptance_tests"].get(section) or {}).get("tests") or []:
            if isinstance(entry, dict):
                for key in set(entry) & set(REMOVED_ENTRY_KEYS):
                    del entry[key]
    return config


class TestHaloitsmStandard(SourceTestSuiteBase):
    connector = SourceHaloitsm

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return ROOT

    @classproperty
    def acceptance_test_config(cls) -> Any:
        return without_cat_only_keys(super(TestHaloitsmStandard, cls).acceptance_test_config)

    @classmethod
    def get_scenarios(cls) -> List[ConnectorTestScenario]:
        scenarios = super().get_scenarios()
        base_url = simulator().base_url
        rewritten = []
        for scenario in scenarios:
            config = scenario.get_config_dict(connector_root=ROOT, empty_if_missing=True)
            # config_path is kept: it names the test (its file stem) and the leak check's config.
            rewritten.append(scenario.model_copy(update={"config_dict": point_at_simulator(config, base_url)}))
        return rewritten


def test_every_config_file_is_listed():
    """Each config file under integration_tests/ is exercised by some section of the suite, and
    each one the suite lists exists (a misspelt path would otherwise test nothing)."""
    import yaml

    acceptance = yaml.safe_load((ROOT / "acceptance-test-config.yml").read_text())["acceptance_tests"]
    listed = {
        entry["config_path"]
        for section in acceptance.values()
        for entry in (section.get("tests") or [])
        if isinstance(entry, dict) and "config_path" in entry
    }
    on_disk = {
        f"integration_tests/{p.name}"
        for p in (ROOT / "integration_tests").glob("*config*.json")
        if not p.name.startswith("configured_catalog")
    }
    assert on_disk - listed == set(), f"config files not used by acceptance-test-config.yml: {sorted(on_disk - listed)}"
    assert {p for p in listed if not (ROOT / p).is_file()} == set()
    # Every other file an entry names (catalogs, expected records, states, the spec) exists too.
    named = {
        path
        for section in acceptance.values()
        for entry in (section.get("tests") or [])
        for path in (
            entry.get("spec_path"),
            entry.get("configured_catalog_path"),
            (entry.get("expect_records") or {}).get("path"),
            (entry.get("future_state") or {}).get("future_state_path"),
        )
        if path
    }
    assert {p for p in named if not (ROOT / p).is_file()} == set()
    for path in listed:
        config = json.loads((ROOT / path).read_text())
        base_url = config.get("base_url", "")
        assert base_url.startswith(("http://127.0.0.1", "http://acme.haloitsm.com")), f"{path}: {base_url}"
        assert config.get("client_secret") in ("demo-secret", "not-the-demo-secret"), f"{path}: demo credentials only"


# Each invalid config of the `connection` section must fail for its own reason, not by accident
# (an invalid config that failed on something else would pass the suite's `status: failed` too).
FAILURE_REASONS = {
    "invalid_config_credentials": "rejected the client credentials",
    "invalid_config_tenant": "check 'tenant' ('no-such-tenant')",
    "invalid_config_unreachable": "127.0.0.1:1",
    "invalid_config_http_remote": "uses http",
    "invalid_config_scope": "rejected the scope 'edit:everything'",
    # In process the CDK's own spec validation answers first ("does not match ..."); the console
    # script and the image answer with the connector's message, which names 'start_date'.
    "invalid_config_date_format": "'01/06/2025'",
    "invalid_config_end_before_start": "is before start_date",
    "invalid_config_unknown_field": "unknown ticket field(s) 'statusid' (did you mean 'status_id'?)",
    "invalid_config_unknown_type_id": "type_id 99 is not a ticket type",
}


@pytest.mark.parametrize("name", sorted(FAILURE_REASONS))
def test_invalid_config_fails_for_its_reason(name: str):
    from airbyte_cdk.test.standard_tests._job_runner import run_test_job

    config = point_at_simulator(
        json.loads((ROOT / "integration_tests" / f"{name}.json").read_text()), simulator().base_url
    )
    scenario = ConnectorTestScenario(config_dict=config, status="failed")
    result = run_test_job(SourceHaloitsm, "check", connector_root=ROOT, test_scenario=scenario)
    [status] = result.connection_status_messages
    message = status.connectionStatus.message or ""
    assert FAILURE_REASONS[name] in message, message
    assert "demo-secret" not in message and "not-the-demo-secret" not in message
