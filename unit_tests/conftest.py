"""Unit-test fixtures. Halo is modelled in one of two ways, never by a hand-written fake:

- the CDK's `HttpMocker` with the request and response builders of `unit_tests/halo_mock.py`, for
  exact wire-level assertions;
- the project's simulator (`integration_tests/halo_simulator`), for behaviour over many requests.

Every test runs the connector through its entry point (`integration_tests.harness.run_connector`).
"""
from __future__ import annotations

import datetime as dt
import os

import pytest
from airbyte_cdk.test.mock_http import HttpMocker

from integration_tests.halo_simulator import HaloSimulator
from integration_tests.harness import catalog, run_connector  # noqa: F401  (re-exported for unit_tests/test_config.py)
from source_haloitsm import datetimes
from unit_tests.halo_mock import NOW, SECRET  # noqa: F401  (SECRET: re-exported for unit_tests/test_config.py)
from unit_tests.halo_mock import config as make_config  # noqa: F401  (re-exported for unit_tests/test_config.py)

# Halo-sized back-off waits (30 s and more) shrink to fractions of a second; tests that measure a
# wait set their own scale.
os.environ.setdefault("SOURCE_HALOITSM_BACKOFF_SCALE", "0.001")


@pytest.fixture
def frozen_clock(monkeypatch):
    """Freezes the connector's clock (the upper bound of every read) at `halo_mock.NOW`; returns a
    setter to move it."""

    def set_clock(value: dt.datetime) -> None:
        monkeypatch.setattr(datetimes, "utc_now", lambda: value)

    set_clock(NOW)
    return set_clock


@pytest.fixture
def simulator():
    """Factory: ``sim = simulator(tickets=500, end=..., ...)`` starts a HaloSimulator on an ephemeral
    port (the same fixture as integration_tests/conftest.py); every simulator made is stopped after
    the test."""
    made = []

    def make(**kwargs):
        kwargs.setdefault("tickets", 500)
        sim = HaloSimulator(**kwargs).start()
        made.append(sim)
        return sim

    yield make
    for sim in made:
        sim.stop()


@pytest.fixture
def fake_halo():
    """Kept only for unit_tests/test_config.py, which calls `fake_halo([])` before runs that must fail
    on the configuration alone. The hand-written fake Halo is gone: this starts the CDK's HttpMocker
    with nothing mocked, so any request such a run sends fails instead of reaching the network."""
    with HttpMocker() as http:
        yield lambda *args, **kwargs: http
