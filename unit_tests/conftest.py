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

from integration_tests.halo_simulator import HaloSimulator
from source_haloitsm import clock, datetimes
from unit_tests.halo_mock import NOW

# Halo-sized back-off waits (30 s and more) shrink to fractions of a second; tests that measure a
# wait set their own scale.
os.environ.setdefault("SOURCE_HALOITSM_BACKOFF_SCALE", "0.001")


@pytest.fixture
def frozen_clock(monkeypatch):
    """Freezes the connector's clock (the upper bound of every read) at `halo_mock.NOW`; returns a
    setter to move it. Halo's clock, as the connector reads it from the Date header (clock.py), is
    taken to agree with it: the simulator's Date header is the real time, a day after its data ends
    at NOW. Tests of clock differences do not use this fixture. An answer without a Date header still
    leaves Halo's clock unknown."""

    def set_clock(value: dt.datetime) -> None:
        monkeypatch.setattr(datetimes, "utc_now", lambda: value)

    def agreeing(self, date_header):
        if clock.parse_http_date(date_header) is not None:
            self._offset = dt.timedelta(0)

    monkeypatch.setattr(clock.HaloClock, "observe", agreeing)
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


